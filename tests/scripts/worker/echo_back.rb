d = Worker.data
if d.size == VALUES_SIZE = d.size
  Worker.post_message(:data_ok) if d[0].nil? && d[11] == :sym && d[-1][0].equal?(d[-1][1])
end
Worker.on(:message) do |m|
  if m == :done
    Worker.remove_all_listeners(:message)
  else
    Worker.post_message(m)
  end
end
