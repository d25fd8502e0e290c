#include "cluster/router_transport.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>

#include <dlfcn.h>

// CAF 0.17.6's OpenSSL session never empties OpenSSL's per-thread error
// queue (it reads it only to log, and Debian's CAF logs nothing), and
// SSL_get_error() reports SSL_ERROR_SSL whenever that queue holds anything.
// So one failed handshake (a peer with a foreign certificate, or the
// redundant connection CAF closes when two nodes dial each other) left an
// error behind on the multiplexer thread, and the next SSL_read of a
// healthy connection that merely had to wait (WANT_READ) looked fatal: CAF
// closed it and every proxy of that peer died with remote_link_unreachable.
// Measured without this: n1 <-> n2 broke at every membership tick once
// both had dialed, and a rogue node dialing every tick cut it every tick.
// OpenSSL's rule is to clear the queue before each I/O call; these
// definitions do that in front of libssl's. The executable exports them
// (cluster/CMakeLists.txt), so CAF's calls bind to them; the real
// functions are the next definitions in lookup order, libssl's.
namespace {

template <class Fn>
Fn real_ssl_function(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = real_ssl_function<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = real_ssl_function<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto real = real_ssl_function<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto real = real_ssl_function<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"

namespace courier::cluster {
namespace {

/// OpenSSL's queued error strings, oldest first (they say which PEM line
/// or which check failed).
std::string ssl_errors() {
  std::string out;
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty())
      out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

core::error bad(const std::string& what) {
  return core::error{core::errc::bad_request, "cluster TLS: " + what};
}

/// Refuses to ask for a passphrase: an encrypted key would otherwise make
/// OpenSSL prompt on the terminal (and CAF only knows a plain-text one).
int no_passphrase(char*, int, int, void*) { return 0; }

/// Does the certificate in `ctx` chain to `ctx`'s trusted CA for `purpose`
/// (X509_PURPOSE_SSL_CLIENT / _SERVER)? Each node is both: it accepts its
/// peers' connections and connects to theirs.
core::result<core::unit_t> chains_to_ca(SSL_CTX* ctx, int purpose, const tls_files& f) {
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &chain);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> v{X509_STORE_CTX_new(),
                                                                    X509_STORE_CTX_free};
  if (!v || X509_STORE_CTX_init(v.get(), SSL_CTX_get_cert_store(ctx), leaf, chain) != 1)
    return bad("cannot check the certificate: " + ssl_errors());
  X509_STORE_CTX_set_purpose(v.get(), purpose);
  if (X509_verify_cert(v.get()) != 1)
    return bad("certificate " + f.cert + " does not verify against the cluster CA " + f.ca +
               " for TLS " + (purpose == X509_PURPOSE_SSL_CLIENT ? "client" : "server") +
               " use: " + X509_verify_cert_error_string(X509_STORE_CTX_get_error(v.get())));
  return core::unit;
}

} // namespace

core::result<core::unit_t> check_tls_identity(const tls_files& f) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()),
                                                        SSL_CTX_free};
  if (!ctx)
    return bad("cannot create an OpenSSL context: " + ssl_errors());
  SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), f.cert.c_str()) != 1)
    return bad("cannot load the certificate " + f.cert + ": " + ssl_errors());
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), f.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL compares the key with the loaded certificate here already.
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return bad("the key " + f.key + " does not belong to the certificate " + f.cert);
    }
    return bad("cannot load the private key " + f.key +
               " (PEM, not passphrase-protected): " + ssl_errors());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return bad("the key " + f.key + " does not belong to the certificate " + f.cert);
  if (SSL_CTX_load_verify_locations(ctx.get(), f.ca.c_str(), nullptr) != 1)
    return bad("cannot load the cluster CA " + f.ca + ": " + ssl_errors());
  if (auto ok = chains_to_ca(ctx.get(), X509_PURPOSE_SSL_CLIENT, f); !ok)
    return ok;
  return chains_to_ca(ctx.get(), X509_PURPOSE_SSL_SERVER, f);
}

void configure_tls(caf::actor_system_config& cfg, const tls_files& f) {
  // All three, always: any one of them switches CAF's session to verified
  // peers; none would leave it on anonymous ciphers.
  cfg.openssl_certificate = f.cert;
  cfg.openssl_key = f.key;
  cfg.openssl_cafile = f.ca;
  cfg.openssl_capath.clear(); // only the cluster CA, never a directory of others
  cfg.load<caf::openssl::manager>();
}

bool tls_enforced(caf::actor_system& sys) {
  if (!sys.has_openssl_manager())
    return false;
  auto& cfg = sys.config();
  return sys.openssl_manager().authentication_enabled() && !cfg.openssl_certificate.empty() &&
         !cfg.openssl_key.empty() && !cfg.openssl_cafile.empty();
}

caf::expected<std::uint16_t> publish_router(caf::actor_system& sys, const caf::actor& router,
                                            std::uint16_t port, const std::string& bind,
                                            router_transport transport) {
  // SO_REUSEADDR: a restarted node takes its port back at once.
  if (transport == router_transport::tls)
    return caf::openssl::publish(router, port, bind.c_str(), true);
  return sys.middleman().publish(router, port, bind.c_str(), true);
}

caf::expected<caf::actor> connect_router(caf::actor_system& sys, const std::string& host,
                                         std::uint16_t port, router_transport transport) {
  if (transport == router_transport::tls)
    return caf::openssl::remote_actor(sys, host, port);
  return sys.middleman().remote_actor(host, port);
}

} // namespace courier::cluster
