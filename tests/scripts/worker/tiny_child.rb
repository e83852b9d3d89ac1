set_timeout(0) { Worker.post_message(Worker.data * 2) }
