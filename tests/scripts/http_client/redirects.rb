# redirects.rb PORT: 301 not followed by default, followed with follow_redirects, 303 turns a
# POST into a GET, 307 keeps the method and the body, a loop ends in ERR_TOO_MANY_REDIRECTS,
# an Integer sets the limit.
require_relative "helper"
deadline(20_000)
PORT = ARGV[0].to_i
BASE = "http://127.0.0.1:#{PORT}"

steps([
  ["301 not followed", proc do |done|
    fetch("#{BASE}/redirect/2") do |res, body|
      check(res.status == 301 && res.headers["location"] == "/redirect/1?" && body == "moved", "301 not followed by default: #{res.status} #{res.headers["location"]}")
      done.call
    end
  end],
  ["301 followed", proc do |done|
    req = fetch({ url: "#{BASE}/redirect/2" }, follow_redirects: true) do |res, body|
      check(res.status == 200 && body == "hello world", "followed to the end: #{res.status} #{body.inspect}")
      check(res.url == "#{BASE}/hello", "res.url is the last URL: #{res.url}")
      check(req.redirect_count == 3, "3 redirects followed (#{req.redirect_count})")
      done.call
    end
  end],
  ["303 turns POST into GET", proc do |done|
    fetch({ url: "#{BASE}/redirect/1?code=303", method: "POST" }, follow_redirects: true, body: "data") do |res, body|
      check(res.status == 200 && body == "hello world", "303 from a POST ends in a GET: #{body.inspect}")
      done.call
    end
  end],
  ["307 keeps POST and its body", proc do |done|
    fetch({ url: "#{BASE}/redirect/1?code=307", method: "POST" }, follow_redirects: true, body: "kept body") do |res, body|
      check(res.status == 200 && body == "kept body" && res.headers["x-method"] == "POST", "307: #{res.headers["x-method"]} #{body.inspect}")
      done.call
    end
  end],
  ["308 keeps a chunked PUT body", proc do |done|
    req = HTTP.request({ url: "#{BASE}/redirect/0?code=308", method: "PUT" }, follow_redirects: 1) do |res|
      res.read_body do |body|
        check(res.status == 200 && body == "part1part2" && res.headers["x-method"] == "PUT", "308 with a body written in parts: #{body.inspect}")
        done.call
      end
    end
    req.write("part1")
    req.end("part2")
  end],
  ["a redirect loop", proc do |done|
    req = HTTP.get("#{BASE}/loop", follow_redirects: true) { |_res| check(false, "no response for a loop") }
    req.on(:error) do |e|
      check(e.is_a?(HTTP::Error) && e.code == "ERR_TOO_MANY_REDIRECTS" && req.redirect_count == 5, "loop: #{e.code} after #{req.redirect_count}")
      done.call
    end
  end],
  ["an Integer limit", proc do |done|
    req = HTTP.get("#{BASE}/redirect/3", follow_redirects: 2) { |_res| check(false, "no response past the limit") }
    req.on(:error) do |e|
      check(e.code == "ERR_TOO_MANY_REDIRECTS" && e.message.include?("(2)"), "limit 2: #{e.message}")
      done.call
    end
  end],
])
