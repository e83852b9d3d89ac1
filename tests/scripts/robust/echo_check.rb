# echo_check.rb PORT|PATH — one round trip through an echo server; prints "echo ok".
arg = ARGV[0]
opts = arg.include?("/") ? { path: arg } : { port: arg.to_i }
msg = "still serving #{arg}\n"
got = ""
c = Net.create_connection(opts) { c.write(msg) }
c.on(:data) do |d|
  got << d
  if got == msg
    puts "echo ok"
    c.destroy
  end
end
c.on(:error) { |e| warn "echo_check: #{e.message}"; exit 1 }
t = set_timeout(10_000) { warn "echo_check: no echo in 10 s (got #{got.size} bytes)"; exit 1 }
c.on(:close) { clear_timeout(t) }
