require "uri"
require "cgi"
s=(0..255).map(&:chr).join
[URI.encode_www_form_component(s), CGI.escape(s), CGI.escapeHTML(s),
 CGI.unescapeHTML("&amp;&lt;&gt;&quot;&#39;&apos;&#65;&#x41;&#X41;&#1114111;&#1114110;&#1114112;&#xD800;&nbsp;&amp&#;&#x;&#0;&#65&#0065;&#x0041;&#99999999999999999999999;&"),
 CGI.unescapeHTML("&a&amp;"), CGI.unescapeHTML("&#65&#66;"), CGI.unescapeHTML("&&amp;"), CGI.unescapeHTML("&#x&#66;"), CGI.unescapeHTML("&#;&lt;&#x;&g&l&q&"),
 CGI.unescapeHTML("&#1_0;&#x1_0;&#65abc;&#x10FFFE;&#x00041;&#00;"),
 CGI.unescape("a+b%41%4g%%2%"), CGI.unescape("%%41%"), 
 URI.decode_www_form_component("a+%41%c3%a9"), URI.encode_www_form_component(nil), URI.encode_www_form_component(12), URI.encode_www_form_component(:"a b"),
 CGI.escapeHTML("é<"), CGI.unescapeHTML("no amp")].each { |x| puts x.unpack("H*")[0] }
["%4g", "ab%", "%", "%a"].each { |x| begin; URI.decode_www_form_component(x); rescue ArgumentError => e; puts e.message; end }
p URI.decode_www_form("a=1&&b=2&c&=x&d=%41+b&e=%zz"), URI.decode_www_form(""), URI.decode_www_form("&"), URI.decode_www_form("&&"), URI.decode_www_form("a&"), URI.decode_www_form("a;b=1", separator: ";")
begin URI.decode_www_form("\xc3\xa9"); rescue => e; p e.message; end
p URI.encode_www_form(a: 1, b: nil, c: [1, nil, "x y"], "d e" => :sym), URI.encode_www_form([["a","1"],["a","2"]]), URI.encode_www_form({}), URI.encode_www_form([[:q, "ruby & mruby"], ["lang", "en"]])
p CGI.escape_html("<a>"), CGI.h("&")
