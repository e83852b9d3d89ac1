# http.rb — what the HTTP server (http_server.rb) and client (http_client.rb) share: the module,
# its error, the status texts and the header rules. The parser is C (net/http_parser.c, bound as
# HTTP::Parser by net/http.c); see docs/script-api.md "## HTTP".
module HTTP
  # code: a system error's name ("ECONNREFUSED", "ETIMEDOUT", "ECONNRESET") or a parse error's
  # ("HPE_INVALID_HEADER", "HPE_HEADER_OVERFLOW", ...), as Node's errors carry them.
  class Error < StandardError
    attr_reader :code

    def initialize(message = nil, code = nil)
      @code = code
      super(message)
    end
  end

  STATUS_CODES = {
    100 => "Continue", 101 => "Switching Protocols", 102 => "Processing", 103 => "Early Hints",
    200 => "OK", 201 => "Created", 202 => "Accepted", 203 => "Non-Authoritative Information",
    204 => "No Content", 205 => "Reset Content", 206 => "Partial Content", 207 => "Multi-Status",
    208 => "Already Reported", 226 => "IM Used",
    300 => "Multiple Choices", 301 => "Moved Permanently", 302 => "Found", 303 => "See Other",
    304 => "Not Modified", 305 => "Use Proxy", 307 => "Temporary Redirect", 308 => "Permanent Redirect",
    400 => "Bad Request", 401 => "Unauthorized", 402 => "Payment Required", 403 => "Forbidden",
    404 => "Not Found", 405 => "Method Not Allowed", 406 => "Not Acceptable",
    407 => "Proxy Authentication Required", 408 => "Request Timeout", 409 => "Conflict",
    410 => "Gone", 411 => "Length Required", 412 => "Precondition Failed",
    413 => "Payload Too Large", 414 => "URI Too Long", 415 => "Unsupported Media Type",
    416 => "Range Not Satisfiable", 417 => "Expectation Failed", 418 => "I'm a Teapot",
    421 => "Misdirected Request", 422 => "Unprocessable Entity", 423 => "Locked",
    424 => "Failed Dependency", 425 => "Too Early", 426 => "Upgrade Required",
    428 => "Precondition Required", 429 => "Too Many Requests",
    431 => "Request Header Fields Too Large", 451 => "Unavailable For Legal Reasons",
    500 => "Internal Server Error", 501 => "Not Implemented", 502 => "Bad Gateway",
    503 => "Service Unavailable", 504 => "Gateway Timeout", 505 => "HTTP Version Not Supported",
    506 => "Variant Also Negotiates", 507 => "Insufficient Storage", 508 => "Loop Detected",
    509 => "Bandwidth Limit Exceeded", 510 => "Not Extended",
    511 => "Network Authentication Required",
  }.freeze

  METHODS = %w[ACL BIND CHECKOUT CONNECT COPY DELETE GET HEAD LINK LOCK M-SEARCH MERGE MKACTIVITY
               MKCALENDAR MKCOL MOVE NOTIFY OPTIONS PATCH POST PROPFIND PROPPATCH PURGE PUT
               REBIND REPORT SEARCH SOURCE SUBSCRIBE TRACE UNBIND UNLINK UNLOCK
               UNSUBSCRIBE].freeze

  # What a request (server side) and a response (client side) share: headers, version, the body
  # as :data events or, when no :data listener takes it, as one String (#body, #read_body). The
  # server reopens it for method/url/path/query, the client for status/status_message.
  class IncomingMessage
    include EventEmitter

    attr_reader :headers, :socket

    def initialize(socket, headers, version_minor)
      @socket = socket
      @headers = headers
      @version_minor = version_minor
      @complete = false
      @body = nil
    end

    def http_version
      @version_minor == 0 ? "1.0" : "1.1"
    end

    def complete?
      @complete
    end

    # The whole body, once :end came, if no :data listener was attached when it arrived (then
    # the listener had it, and this is ""). nil before :end.
    def body
      @complete ? (@body || "") : nil
    end

    # Calls the block with the whole body once it is complete (at once if it is).
    def read_body(&block)
      if @complete
        block.call(@body || "")
      else
        once(:end) { block.call(@body || "") }
      end
      self
    end

    def pause
      @socket&.pause
      self
    end

    def resume
      @socket&.resume
      self
    end

    # --- called by the server and the client ----------------------------------------------

    def __push(chunk)
      if listener_count(:data) > 0
        emit(:data, chunk)
      elsif @body
        @body << chunk
      else
        @body = chunk.dup
      end
    end

    def __finish
      @complete = true
      emit(:end)
    end
  end
end
