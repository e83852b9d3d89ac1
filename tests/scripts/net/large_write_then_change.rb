# A large write is sent from the caller's String without copying it (net.c shares its bytes):
# changing or clearing that String right after write must not change what the peer receives.
# Several writes over 16 KiB queued at once, each String changed at once after its write.
got = String.new
sizes = [3 * 1024 * 1024, 20_000, 1 << 20]
expected = sizes.each_with_index.map { |n, i| (97 + i).chr * n }.join
server = Net.create_server do |sock|
  sizes.each_with_index do |n, i|
    buf = (97 + i).chr * n
    sock.write(buf)
    buf.setbyte(0, 90)
    buf << "changed"
    buf.clear
  end
  sock.end
end
server.listen(0) do
  c = Net.create_connection(port: server.address[:port])
  c.on(:data) { |d| got << d }
  c.on(:end) do
    GC.start
    if got == expected
      puts "ok #{got.bytesize} bytes as written"
      puts "all passed"
    else
      puts "FAIL got #{got.bytesize} bytes, expected #{expected.bytesize}; first difference at #{(0...got.size).find { |i| got[i] != expected[i] }}"
    end
    server.close
  end
end
