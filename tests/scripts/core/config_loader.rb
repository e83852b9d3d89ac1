# A config loader: an INI-like text, typed values with strict Integer()/Float(), defaults merged
# deeply, validation that stops at the first problem with catch/throw, frozen results.
require "set"

TEXT = <<~INI
  ; service configuration
  [server]
  host = 127.0.0.1
  port = 8080
  workers = 4
  timeout = 2.5

  [log]
  level = debug
  targets = stdout, file
  path = /var/log/app.log

  [features]
  beta = yes
  limit = 0x20
INI

DEFAULTS = {
  "server" => {"host" => "0.0.0.0", "port" => 80, "workers" => 1, "timeout" => 30.0, "backlog" => 128},
  "log" => {"level" => "info", "targets" => ["stdout"]},
}.freeze

class ConfigError < StandardError
  attr_reader :section, :key
  def initialize(section, key, msg)
    @section, @key = section, key
    super("#{section}.#{key}: #{msg}")
  end
end

def typed(raw)
  return true if %w[yes true on].include?(raw)
  return false if %w[no false off].include?(raw)
  return raw.split(",").map(&:strip) if raw.include?(",")
  Integer(raw)
rescue ArgumentError
  begin
    Float(raw)
  rescue ArgumentError
    raw
  end
end

def parse(text)
  out = Hash.new { |h, k| h[k] = {} }
  section = nil
  text.each_line.with_index(1) do |line, no|
    line = line.strip
    next if line.empty? || line.start_with?(";", "#")
    if line.start_with?("[") && line.end_with?("]")
      section = line[1..-2]
      next
    end
    key, sep, value = line.partition("=")
    raise ConfigError.new(section, key.strip, "line #{no}: no '='") if sep.empty?
    out[section][key.strip] = typed(value.strip)
  end
  out
end

def deep_merge(a, b)
  a.merge(b) { |_k, x, y| x.is_a?(Hash) && y.is_a?(Hash) ? deep_merge(x, y) : y }
end

LEVELS = %w[debug info warn error].freeze

def validate(cfg)
  catch(:invalid) do
    port = cfg.dig("server", "port")
    throw :invalid, ConfigError.new("server", "port", "out of range: #{port}") unless port.between?(1, 65535)
    level = cfg.dig("log", "level")
    throw :invalid, ConfigError.new("log", "level", "unknown #{level.inspect}") unless LEVELS.include?(level)
    cfg["server"]["workers"] = cfg["server"]["workers"].clamp(1, 16)
    nil
  end
end

cfg = deep_merge(DEFAULTS, parse(TEXT))
if (err = validate(cfg))
  puts "invalid: #{err.message}"
else
  puts "valid"
end
cfg.each do |section, values|
  puts "[#{section}]"
  values.sort.each { |k, v| puts format("  %-8s = %-22s (%s)", k, v.inspect, v.class) }
end
p cfg.dig("server", "port").pow(2, 1000), cfg["features"]["limit"], 255.digits(16), 0b1010.bit_length
p Integer("0x1f", 16) rescue p $!.class
["12", "0b11", "0o17", " 42 ", "4_2", "1e3", "12abc", "", "0x", nil].each do |s|
  print s.inspect, " => "
  begin
    p Integer(s)
  rescue ArgumentError, TypeError => e
    puts e.class
  end
end
["1.5", "1e3", ".5", "1_000.5", "abc", "1.", "0x1A"].each do |s|
  print s.inspect, " => "
  begin
    p Float(s)
  rescue ArgumentError => e
    puts e.class
  end
end
bad = deep_merge(cfg, {"log" => {"level" => "loud"}})
puts validate(bad).message
bad2 = deep_merge(cfg, {"server" => {"port" => 70000}})
e = validate(bad2); p e.class, e.section, e.key
frozen = cfg.freeze
begin
  frozen["x"] = 1
rescue => e
  p e.class
end
p Integer("10", exception: false), Integer("zz", exception: false), Float("x", exception: false)
p cfg.fetch("missing", {}).fetch("k", :default), cfg.key?("log"), cfg.keys.to_set.subset?(Set["server", "log", "features", "extra"])
