# The :message listener comes later (in a timer): the messages posted meanwhile wait for it.
set_timeout(20) do
  got = []
  Worker.on(:message) do |m|
    got << m
    if got.size == 3
      Worker.post_message(got)
      Worker.remove_all_listeners(:message)
    end
  end
end
