Worker.on(:message) { |m| }
set_interval(1000) { }
Worker.post_message(:up)
