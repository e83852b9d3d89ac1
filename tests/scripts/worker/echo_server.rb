# Inside a Worker: a timer, then a TCP echo server on 127.0.0.1 port 0 whose port goes to the
# parent; the parent's :stop closes it and the Worker's loop ends.
set_timeout(5) { Worker.post_message(["timer", Worker.thread_id]) }
server = Net.create_server { |s| s.on(:data) { |d| s.write(d.upcase) } }
server.listen(0, "127.0.0.1") { Worker.post_message(["port", server.address[:port]]) }
Worker.on(:message) do |m|
  if m == "stop"
    server.close
    Worker.remove_all_listeners(:message)
  end
end
