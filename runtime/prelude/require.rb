# require.rb — `require "set"`, `require "json"`... succeed when the library is built in.
#
# Ruby scripts open with the requires of the standard library they use; mrun has some of it
# built in (the VM prelude, runtime/prelude/vm/, and the C modules). Such a require loads nothing:
# it returns true the first time (adding "name.rb" to $LOADED_FEATURES, as CRuby does) and false
# after. A library mrun lacks still raises LoadError, naming the file it looked for.
module Kernel
  # feature name => the constant that shows it is built in (checked at require time, so a module
  # that is not compiled in, JSON before it lands, is still a LoadError)
  BUILTIN_FEATURES = {
    "set" => :Set, "uri" => :URI, "cgi" => :CGI, "cgi/util" => :CGI, "cgi/escape" => :CGI,
    "time" => :Time, "json" => :JSON, "pp" => :Kernel, "socket" => :Socket, "strscan" => :StringScanner,
    "fileutils" => :FileUtils, "securerandom" => :SecureRandom, "digest" => :Digest,
  }.freeze

  alias_method :__require_file, :require

  def require(name)
    feature = name.is_a?(String) && name.end_with?(".rb") ? name[0..-4] : name
    const = BUILTIN_FEATURES[feature]
    if const && Object.const_defined?(const)
      loaded = $LOADED_FEATURES.include?("#{feature}.rb")
      $LOADED_FEATURES << "#{feature}.rb" unless loaded
      return !loaded
    end
    __require_file(name)
  end
end
