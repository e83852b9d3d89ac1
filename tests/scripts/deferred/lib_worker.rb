# Loaded in every worker by Deferred.load.
class Counter
  def self.triple(x) = x * 3
end
def greet(name) = "hello #{name} from a worker"
