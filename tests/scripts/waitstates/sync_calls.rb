# ARGV[0]: a FIFO. A synchronous read of it waits for the writer the script starts (blocked:
# file system); system and backticks wait for their child (blocked: child process).
def read_fifo(path)
  FS.read_file_sync(path)
end
def run_system
  system("sleep 0.2")
end
def run_backticks
  `sleep 0.2; echo done`
end
ChildProcess.spawn("sh", ["-c", "sleep 0.2; echo hi > \"$0\"", ARGV[0]])
read_fifo(ARGV[0])
run_system
run_backticks
