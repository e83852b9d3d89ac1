# An order workflow as a small state machine: a transition table, guards, callbacks defined with
# define_method, an event log with timestamps, Comparable priorities, method_missing queries.
require "set"

class Priority
  include Comparable
  LEVELS = %i[low normal high urgent].freeze
  attr_reader :level
  def initialize(level) = @level = LEVELS.index(level) || raise(ArgumentError, "unknown priority #{level.inspect}")
  def <=>(other) = level <=> other.level
  def to_s = LEVELS[level].to_s
  def succ = Priority.new(LEVELS[[level + 1, LEVELS.size - 1].min])
end

class Machine
  class InvalidTransition < StandardError; end
  Transition = Struct.new(:from, :event, :to, :guard)

  def self.transitions = @transitions ||= []
  def self.states = @states ||= Set.new

  def self.on(event, from:, to:, guard: nil)
    Array(from).each do |f|
      transitions << Transition.new(f, event, to, guard)
      states << f << to
    end
    define_method(:"#{event}!") { |**opts| fire(event, **opts) }
    define_method(:"can_#{event}?") { transitions_for(event).any? { |t| t.guard.nil? || instance_exec(&t.guard) } }
  end

  attr_reader :state, :log, :priority

  def initialize(priority: :normal)
    @state = :new
    @log = []
    @priority = Priority.new(priority)
    @clock = 1_700_000_000
  end

  def transitions_for(event) = self.class.transitions.select { |t| t.from == state && t.event == event }

  def fire(event, note: nil)
    t = transitions_for(event).find { |tr| tr.guard.nil? || instance_exec(&tr.guard) }
    raise InvalidTransition, "cannot #{event} from #{state}" unless t
    @log << [Time.at(@clock += 61).utc.strftime("%H:%M:%S"), state, event, t.to, note].compact
    @state = t.to
    self
  end

  def method_missing(name, *args)
    s = name.to_s
    return state == s.chomp("?").to_sym if s.end_with?("?") && self.class.states.include?(s.chomp("?").to_sym)
    super
  end

  def respond_to_missing?(name, include_private = false)
    (name.to_s.end_with?("?") && self.class.states.include?(name.to_s.chomp("?").to_sym)) || super
  end
end

class Order < Machine
  attr_accessor :paid
  on :submit, from: :new, to: :pending
  on :pay, from: :pending, to: :paid, guard: -> { paid.to_i > 0 }
  on :ship, from: :paid, to: :shipped
  on :cancel, from: %i[new pending paid], to: :cancelled
  on :escalate, from: %i[pending paid], to: :pending
end

o = Order.new(priority: :high)
p o.state, o.new?, o.respond_to?(:pending?), o.respond_to?(:flying?), o.can_pay?
o.submit!(note: "web")
begin
  o.pay!
rescue Machine::InvalidTransition => e
  puts "error: #{e.message}"
end
o.paid = 30
p o.can_pay?
o.pay!.ship!
p o.state, o.shipped?, o.paid?
o.log.each { |entry| puts entry.join(" | ") }
begin
  o.flying?
rescue NoMethodError => e
  puts "NoMethodError #{e.name}"
end
p Order.states.sort, Order.transitions.map(&:event).uniq, Order.transitions.count { |t| t.to == :cancelled }
pr = [Priority.new(:urgent), Priority.new(:low), Priority.new(:normal)]
p pr.sort.map(&:to_s), pr.max.to_s, Priority.new(:low).between?(Priority.new(:low), Priority.new(:high)), Priority.new(:high).clamp(pr[1], pr[2]).to_s
p (Priority.new(:low)..Priority.new(:high)).map(&:to_s) rescue p $!.class
o2 = Order.new.tap { |x| x.submit! }.then { |x| x.cancel!; x.state }
p o2
counts = Hash.new(0)
%i[submit pay ship cancel].each_cons(2) { |a, b| counts[[a, b]] += 1 }
p counts.keys, counts.values.sum
p Order.instance_methods(false).sort.first(4), Order.public_method_defined?(:ship!)
x = catch(:found) do
  Order.transitions.each { |t| throw :found, t.event if t.from == :paid && t.to == :shipped }
  nil
end
p x, o.public_send(:state), o.frozen?, :abc.start_with?("a"), :abc.end_with?("bc"), :a <=> :b
