# The parent: starts echo_server.rb, has a Python (or Node) client talk to it, stops it.
client = ARGV[0]
w = Worker.new(File.join(File.dirname(__FILE__), "echo_server.rb"))
seen = []
w.on(:message) do |kind, v|
  seen << kind
  next unless kind == "port"
  ChildProcess.exec("#{client} #{v}") do |err, out, errout|
    puts "client: #{out.strip}#{err ? " ERR #{err.message} #{errout}" : ""}"
    w.post_message("stop")
  end
end
w.on(:exit) { |c| puts "seen #{seen.sort.inspect}"; puts "exit #{c}" }
