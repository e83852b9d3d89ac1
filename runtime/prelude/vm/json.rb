# json.rb — the Ruby half of JSON (runtime/json.c): JSON.dump and JSON.load as CRuby's json
# defines them (NaN and Infinity allowed, no nesting limit beyond the generator's own bound).

module JSON
  def self.dump(obj, io = nil)
    text = generate(obj, allow_nan: true, max_nesting: false)
    return text unless io
    io.write(text)
    io
  end

  def self.load(source)
    return nil if source.nil?
    source = source.read if source.respond_to?(:read)
    parse(source, allow_nan: true, max_nesting: false)
  end
end
