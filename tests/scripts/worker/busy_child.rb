# Busy for ever: one loop that calls methods, one that rescues StandardError and allocates.
Worker.post_message(:started)
i = 0
if Worker.data == "calls"
  loop { i += 1 }
else
  while true
    begin
      i += 1
      s = "x#{i}"
    rescue => e
      s = e
    end
  end
end
