# router.rb — route blocks of one method: three `block in Router#build_router`, each its own
# function at its own line (tests/e2e/test_keying.sh). /search spins 4x /home, /about little.
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
    on("/about") { "about" * 1000 }
    self
  end
end

router = Router.new.build_router
(ARGV[0] || 20).to_i.times { %w[/home /search /about].each { |path| router.call(path) } }
