# compare_node.rb PORT: the requests of compare_node.js, sent by mrun's HTTP client; each line is
# what server.py's /capture saw. The e2e test compares the output with Node's.
PORT = ARGV[0].to_i
agent = HTTP::Agent.new
steps = [
  proc { |cb| HTTP.request({ port: PORT, path: "/capture?get", agent: agent }, &cb).end },
  proc { |cb| HTTP.request({ port: PORT, path: "/capture?post-whole", method: "POST", agent: agent }, &cb).end("abc") },
  proc { |cb| r = HTTP.request({ port: PORT, path: "/capture?post-parts", method: "POST", agent: agent }, &cb); r.write("ab"); r.end("c") },
  proc { |cb| HTTP.request({ port: PORT, path: "/capture?post-empty", method: "POST", agent: agent }, &cb).end },
  proc { |cb| r = HTTP.request({ port: PORT, path: "/capture?put-length", method: "PUT", agent: agent, headers: { "Content-Length" => 3 } }, &cb); r.write("a"); r.end("bc") },
  proc { |cb| HTTP.request({ port: PORT, path: "/capture?delete", method: "DELETE", agent: agent }, &cb).end },
  proc { |cb| HTTP.request({ port: PORT, path: "/capture?patch-whole", method: "PATCH", agent: agent }, &cb).end('{"a":1}') },
  proc { |cb| HTTP.request({ port: PORT, path: "/capture?no-agent", agent: false }, &cb).end },
]
i = 0
nxt = nil
nxt = proc do
  if i == steps.size
    agent.destroy
  else
    step = steps[i]
    i += 1
    step.call(proc { |res| res.read_body { |b| puts b; nxt.call } })
  end
end
nxt.call
