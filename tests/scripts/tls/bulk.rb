# bulk.rb DIR [MB] [backpressure] — an mrun TLS server and client move MB MiB each way at once (the server
# echoes), both honouring backpressure (write false -> pause until :drain; the client reads
# nothing until the server's write first returns false, so both directions back up); the
# bytes must come back identical and in order, and no fd stays open. With "backpressure" it
# also checks that both writes did return false (MB must exceed what the loopback's socket
# buffers hold, a few MiB: 16 does).
$failures = 0
def check(ok, what)
  puts(ok ? "ok #{what}" : "FAIL #{what}")
  $failures += 1 unless ok
end
def fd_count
  (0...4096).count { |i| File.exist?("/proc/self/fd/#{i}") }
end
dir = ARGV[0]
mb = (ARGV[1] || "8").to_i
want_backpressure = ARGV[2] == "backpressure"
total = mb * 1024 * 1024
t = set_timeout(120_000 * (ENV["MRPROF_DEADLINE_SCALE"] || "1").to_i) { puts "FAIL deadline"; exit 3 }
t.unref
# A chunk whose bytes depend on its index, so a lost, repeated or reordered chunk shows.
def chunk(i)
  ("%08d" % i) * 8192 # 64 KiB
end
warm = Net.create_server { }
warm.listen(0) do
  warm.close do
    fds = fd_count
    server_false = 0
    server = TLS.create_server(cert: "#{dir}/server.pem", key: "#{dir}/server.key") do |s|
      s.on(:data) do |d|
        unless s.write(d)
          server_false += 1
          s.pause
          $client.resume # the client read nothing until the server's writes backed up
        end
      end
      s.on(:drain) { s.resume }
    end
    server.listen(0) do
      client_false = 0
      received = []
      rsize = 0
      sent = 0
      i = 0
      c = $client = TLS.connect(port: server.address[:port], ca: "#{dir}/ca.pem")
      pump = proc do
        while sent < total
          data = chunk(i)
          i += 1
          sent += data.bytesize
          unless c.write(data)
            client_false += 1
            c.once(:drain) { pump.call }
            break
          end
        end
        c.resume if sent >= total # all sent with no backup: the check below fails
      end
      c.once(:secure) do
        c.pause
        pump.call
      end
      c.on(:data) do |d|
        received << d
        rsize += d.bytesize
        c.end if rsize >= total
      end
      c.on(:error) { |e| check(false, "client error #{e.message}") }
      c.on(:close) do
        whole = received.join
        want = (0...(total / 65536)).map { |k| chunk(k) }.join
        check(rsize == total, "#{total} bytes came back (#{rsize})")
        check(whole == want, "the bytes came back identical and in order")
        check(!want_backpressure || client_false > 0, "the client's write returned false and waited for :drain (#{client_false} times)")
        check(!want_backpressure || server_false > 0, "the server's write returned false and it paused (#{server_false} times)")
        check(c.bytes_written > total, "ciphertext written (#{c.bytes_written}) exceeds the plaintext")
        server.close do
          set_immediate do
            GC.start
            check(fd_count == fds, "no fd left open (#{fds} before, #{fd_count} after)")
            puts($failures == 0 ? "all passed" : "#{$failures} failed")
            exit($failures == 0 ? 0 : 1)
          end
        end
      end
    end
  end
end
