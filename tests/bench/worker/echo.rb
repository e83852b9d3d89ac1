# The Worker of roundtrip.rb and burst.rb: answers each message k with k + 1; nil ends it.
Worker.on(:message) do |k|
  if k.nil?
    Worker.remove_all_listeners(:message)
  else
    Worker.post_message(k + 1)
  end
end
