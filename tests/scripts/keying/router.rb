# router.rb — route blocks of one method: three `block in Router#build_router`, each its own
# function at its own line (tests/e2e/test_keying.sh). /search spins 4x /home, /about
# less (but enough to be sampled on every run).
class Router
  def initialize
    @routes = {}
  end

  def on(path, &handler)
    @routes[path] = handler
  end

  def call(path) = @routes[path].call

  def build_router
    on "/home" do
      i = 0
      i += 1 while i < 50_000
    end
    on "/search" do
      i = 0
      i += 1 while i < 200_000
    end
    on("/about") { s = nil; j = 0; (s = "about" * 100; j += 1) while j < 20_000; s }
    self
  end
end

router = Router.new.build_router
(ARGV[0] || 20).to_i.times { %w[/home /search /about].each { |path| router.call(path) } }
