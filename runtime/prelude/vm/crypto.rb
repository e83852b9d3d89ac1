# Crypto's Ruby half (every VM; the C half is runtime/crypto.c): the error's code, #copy, and
# the pool behind the block forms of pbkdf2, scrypt and hkdf.
module Crypto
  # An operation OpenSSL refused or a finished Hash used again; code is Node's
  # ("ERR_CRYPTO_HASH_FINALIZED", "ERR_CRYPTO_OPERATION_FAILED").
  class Error < StandardError
    # Set by the C half; an error that crossed from a Deferred worker arrives with its class and
    # message only, and the message tells the code again.
    def code
      @code ||= message.start_with?("Digest already called") ? "ERR_CRYPTO_HASH_FINALIZED" : "ERR_CRYPTO_OPERATION_FAILED"
    end
  end

  class Hash
    # A copy with the same state that goes on independently (Node's hash.copy()).
    def copy
      dup
    end

    def inspect
      "#<Crypto::Hash #{name}#{finished? ? ' (finished)' : ''}>"
    end
  end

  class Hmac
    def copy
      dup
    end

    def inspect
      "#<Crypto::Hmac #{name}#{finished? ? ' (finished)' : ''}>"
    end
  end

  # Crypto.pbkdf2(...) { |err, key| } and the others with a block (called by the C methods once
  # the arguments are checked): the same method without the block runs on a Deferred worker, and
  # the block gets (nil, key) or (error, nil) on the main thread, as Node's callbacks.
  def self.__on_pool(done, method, args)
    unless Object.const_defined?(:Deferred) && Deferred.respond_to?(:pool_size)
      raise NotImplementedError, "Crypto.#{method} with a block runs on the Deferred pool, " \
                                 "which this VM (a Deferred worker) has not: call it without " \
                                 "a block here"
    end
    task = Deferred.new(method, args) { |m, a| Crypto.__send__(m, *a) }
    task.__subscribe { |ok, v| ok ? done.call(nil, v) : done.call(v, nil) }
    nil
  end
end
