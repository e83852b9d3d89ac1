# http_api.rb — a small JSON API on the HTTP module: notes kept in memory.
#
#   GET    /notes            all notes (?q=TEXT: those whose text contains TEXT)
#   POST   /notes            {"text": "..."} -> 201 and the new note
#   GET    /notes/:id        one note, or 404
#   DELETE /notes/:id        204, or 404
#   anything else on /notes: 405 (with Allow); another path: 404; a body that is not JSON: 400
#
#   build/mrun samples/http_api.rb [PORT]        (default 8080; 0 lets the system choose)
#   curl -d '{"text":"milk"}' http://127.0.0.1:8080/notes
#   curl http://127.0.0.1:8080/notes
class NotesAPI
  JSON_TYPE = { "Content-Type" => "application/json" }.freeze

  def initialize
    @notes = {}
    @next_id = 1
  end

  def call(req, res)
    path = req.path
    if path == "/notes"
      case req.method
      when "GET" then list(req, res)
      when "POST" then req.read_body { |body| create(body, res) }
      else not_allowed(req, res, "GET, POST")
      end
    elsif (m = path.match(%r{\A/notes/(\d+)\z}))
      id = m[1].to_i
      case req.method
      when "GET" then show(id, res)
      when "DELETE" then delete(id, res)
      else not_allowed(req, res, "GET, DELETE")
      end
    else
      reply(res, 404, { "error" => "no route for #{path}" })
    end
  end

  private

  def list(req, res)
    q = req.query["q"]
    notes = @notes.values
    notes = notes.select { |n| n["text"].include?(q) } if q.is_a?(String)
    reply(res, 200, notes)
  end

  def create(body, res)
    data = begin
      JSON.parse(body)
    rescue JSON::ParserError => e
      return reply(res, 400, { "error" => "bad JSON: #{e.message}" })
    end
    unless data.is_a?(Hash) && data["text"].is_a?(String)
      return reply(res, 400, { "error" => "a note needs a \"text\" String" })
    end
    note = { "id" => @next_id, "text" => data["text"] }
    @notes[@next_id] = note
    @next_id += 1
    reply(res, 201, note)
  end

  def show(id, res)
    note = @notes[id]
    note ? reply(res, 200, note) : reply(res, 404, { "error" => "no note #{id}" })
  end

  def delete(id, res)
    if @notes.delete(id)
      res.write_head(204)
      res.end
    else
      reply(res, 404, { "error" => "no note #{id}" })
    end
  end

  def not_allowed(req, res, allow)
    res.set_header("Allow", allow)
    reply(res, 405, { "error" => "#{req.method} not allowed on #{req.path}" })
  end

  def reply(res, status, obj)
    res.write_head(status, JSON_TYPE)
    res.end(JSON.generate(obj))
  end
end

api = NotesAPI.new
port = (ARGV[0] || 8080).to_i
server = HTTP.create_server { |req, res| api.call(req, res) }
server.on(:error) do |e|
  warn "http_api: #{e.message}"
  exit 1
end
server.listen(port) do
  puts "http_api listening on http://127.0.0.1:#{server.address[:port]}/"
end
