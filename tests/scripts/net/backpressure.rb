# 10 MiB through an echo server with backpressure on both sides: write returns false, :drain
# follows, and every byte comes back in order.
require_relative "helper"
deadline(60_000)
total = (ARGV[0] || 10 * 1024 * 1024).to_i
chunk = 64 * 1024
block = (0...chunk).map { |i| ((i * 7 + i / 251) % 256).chr }.join
server = Net.create_server do |s|
  s.on(:data) { |d| s.pause unless s.write(d) }
  s.on(:drain) { s.resume }
  s.on(:end) { s.end }
end
server.listen(0) do
  false_writes = 0
  drains = 0
  sent = 0
  received = 0
  mismatch = nil
  c = Net.create_connection(port: server.address[:port])
  pump = proc do
    while sent < total
      piece = block
      sent += piece.size
      unless c.write(piece)
        false_writes += 1
        break
      end
    end
    c.end if sent >= total
  end
  c.on(:connect) { pump.call }
  c.on(:drain) { drains += 1; pump.call }
  c.on(:data) do |d|
    # compare against the repeating pattern at this offset
    off = received % chunk
    expect = (block * ((d.size + off) / chunk + 2))[off, d.size]
    mismatch ||= received if d != expect
    received += d.size
  end
  c.on(:close) do |had_error|
    check(!had_error, "no error")
    check(received == total, "all #{total} bytes came back (#{received})")
    check(mismatch.nil?, "in order and intact (first difference at #{mismatch.inspect})")
    check(false_writes > 0, "write returned false under load (#{false_writes} times)")
    check(drains == false_writes, ":drain followed each false write (#{drains})")
    check(c.bytes_written == total && c.bytes_read == total, "bytes_written/bytes_read count #{c.bytes_written}/#{c.bytes_read}")
    server.close { finish }
  end
end
