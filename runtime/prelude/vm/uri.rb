# uri.rb — the form-encoding half of CRuby's URI (uri/common.rb, Ruby 3.1) and CGI's escaping;
# the byte loops are C (runtime/core.c). Loaded into every VM.

module URI
  # [[k, v], ...] or {k => v}: "k=v&..."; a nil value gives the bare key, an Array value one
  # pair per element (CRuby's quirk kept: a nil element gives an empty field).
  def self.encode_www_form(enum, enc = nil)
    enum.map do |k, v|
      if v.nil?
        encode_www_form_component(k)
      elsif v.respond_to?(:to_ary)
        v.to_ary.map do |w|
          str = encode_www_form_component(k)
          unless w.nil?
            str << "="
            str << encode_www_form_component(w)
          end
        end.join("&")
      else
        str = encode_www_form_component(k)
        str << "="
        str << encode_www_form_component(v)
      end
    end.join("&")
  end

  # "a=1&b=2" => [["a", "1"], ["b", "2"]]; '+' and %XX decoded, a bad %-sequence kept as it is.
  def self.decode_www_form(str, enc = nil, separator: "&", use__charset_: false, isindex: false)
    raise TypeError, "no implicit conversion of #{str.class} into String" unless str.is_a?(String)
    unless str.bytes.all? { |b| b < 128 }
      raise ArgumentError, "the input of URI.decode_www_form must be ASCII only string"
    end
    ary = []
    return ary if str.empty?
    fields = str.split(separator, -1)
    fields.pop if fields.size > 1 && fields[-1].empty?
    fields.each do |field|
      key, _sep, val = field.partition("=")
      ary << [CGI.unescape(key), CGI.unescape(val)]
    end
    ary
  end
end

class CGI
  # CRuby's CGI::Util aliases.
  class << self
    alias_method :escape_html, :escapeHTML
    alias_method :h, :escapeHTML
    alias_method :unescape_html, :unescapeHTML
  end
end
