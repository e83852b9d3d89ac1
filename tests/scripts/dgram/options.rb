# options.rb [v6] — socket options: broadcast (without it a send to the broadcast address is
# EACCES), TTL, multicast TTL and loopback, buffer sizes (set at creation or later), multicast
# membership on the loopback interface (prints "skip: ..." when the kernel refuses it); with v6
# also ipv6_only and the largest IPv6 datagram.
require_relative "../net/helper"
deadline(20_000)
v6 = ARGV[0] == "v6"
type = v6 ? :udp6 : :udp4
lo = v6 ? "::1" : "127.0.0.1"

s = Dgram.create_socket(type, recv_buffer_size: 65536, send_buffer_size: 32768)
# Linux reports twice the size asked for (the kernel's bookkeeping), as Node's getter does
check(s.get_recv_buffer_size == 131072, "recv_buffer_size: 65536 at creation (#{s.get_recv_buffer_size})")
check(s.get_send_buffer_size == 65536, "send_buffer_size: 32768 at creation (#{s.get_send_buffer_size})")
s.set_recv_buffer_size(100_000)
check(s.get_recv_buffer_size == 200_000, "set_recv_buffer_size (#{s.get_recv_buffer_size})")
check(s.set_ttl(7) == 7 && s.get_ttl == 7, "set_ttl(7) / get_ttl (#{s.get_ttl})")
check(s.set_multicast_ttl(0) == 0 && s.get_multicast_ttl == 0, "set_multicast_ttl(0)")
check(s.set_multicast_ttl(9) == 9 && s.get_multicast_ttl == 9, "set_multicast_ttl(9)")
check(s.get_multicast_loopback == true, "multicast loopback is on by default")
s.set_multicast_loopback(false)
check(s.get_multicast_loopback == false, "set_multicast_loopback(false)")
s.set_multicast_loopback(true)
check(s.get_broadcast == false, "broadcast is off by default")
s.set_broadcast(true)
check(s.get_broadcast == true, "set_broadcast(true) / get_broadcast")
s.set_broadcast(false)
check(s.get_broadcast == false, "set_broadcast(false)")
s.close

steps = []
next_step = proc { (steps.shift || proc { finish }).call }

unless v6
  # broadcast on the loopback network: 127.255.255.255 (a receiver bound to any address gets it)
  steps << proc do
    rx = Dgram.create_socket(:udp4)
    tx = Dgram.create_socket(:udp4)
    rx.bind(0, "0.0.0.0") do
      port = rx.address[:port]
      tx.send("bc", port, "127.255.255.255") do |err, _|
        check(err && err.code == "EACCES", "a broadcast without set_broadcast is EACCES (#{err && err.message})")
        tx.set_broadcast(true)
        tx.send("bc", port, "127.255.255.255") do |err2, n|
          check(err2.nil? && n == 2, "with set_broadcast(true) it is sent (#{err2 && err2.message})")
        end
      end
      rx.on(:message) do |m, r|
        check(m == "bc" && r[:address] == "127.0.0.1", "the broadcast arrives (#{m} from #{r[:address]})")
        rx.close; tx.close
        next_step.call
      end
    end
  end
end

if v6
  # ipv6_only: a dual-stack udp6 socket reaches 127.0.0.1; an IPv6-only one cannot
  steps << proc do
    rx = Dgram.create_socket(:udp4)
    dual = Dgram.create_socket(:udp6)
    only = Dgram.create_socket(:udp6, ipv6_only: true)
    rx.bind(0, "127.0.0.1") do
      port = rx.address[:port]
      only.bind(0, "::") do
        only.send("from v6 only", port, "127.0.0.1") do |err, _|
          check(err && err.code == "ENETUNREACH", "an ipv6_only socket cannot send to 127.0.0.1 (#{err && err.message})")
          dual.send("from dual stack", port, "127.0.0.1")
        end
      end
      rx.on(:message) do |m, r|
        check(m == "from dual stack" && r[:family] == "IPv4", "a dual-stack udp6 socket reaches 127.0.0.1 (#{m})")
        [rx, dual, only].each(&:close)
        next_step.call
      end
    end
  end
  # the largest IPv6 datagram is 65527 bytes
  steps << proc do
    big = Dgram.create_socket(:udp6)
    big.send("x" * 65528, 9, "::1") do |err, _|
      check(err && err.code == "EMSGSIZE", "65528 bytes over IPv6: EMSGSIZE (#{err && err.message})")
      big.close
      next_step.call
    end
  end
end

# multicast on the loopback interface
steps << proc do
  group = v6 ? "ff02::1:3ee7" : "239.255.0.77"
  iface = v6 ? "::%lo" : "127.0.0.1"
  rx = Dgram.create_socket(type, reuse_addr: true)
  tx = Dgram.create_socket(type)
  rx.bind(0, v6 ? "::" : "0.0.0.0") do
    port = rx.address[:port]
    begin
      rx.add_membership(group, v6 ? nil : iface)
      tx.set_multicast_interface(iface)
    rescue Net::Error => e
      puts "skip: multicast on the loopback interface refused (#{e.message})"
      rx.close; tx.close
      next next_step.call
    end
    rx.on(:message) do |m, _|
      check(m == "to the group", "a datagram to #{group} arrives at a member (#{m})")
      rx.drop_membership(group, v6 ? nil : iface)
      begin
        rx.drop_membership(group, v6 ? nil : iface)
        check(false, "dropping a group twice raises")
      rescue Net::Error => e
        check(e.syscall == "drop_membership" && e.address == group, "dropping a group twice raises (#{e.message})")
      end
      rx.close; tx.close
      next_step.call
    end
    tx.send("to the group", port, group) do |err, _|
      if err
        puts "skip: sending to #{group} refused (#{err.message})"
        rx.close; tx.close
        next_step.call
      end
    end
  end
end
next_step.call
