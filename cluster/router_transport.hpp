#pragma once
/// \file
/// How the members' routers reach each other between processes: CAF's
/// plain middleman (development only, bound to loopback by the node's
/// config), or CAF's OpenSSL module with mutual TLS (issue #14).
///
/// With `tls`, both ends present a certificate signed by the cluster CA and
/// verify the other's: CAF 0.17's OpenSSL session sets
/// SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT on both the accepting
/// and the connecting side once any `openssl.*` credential is configured,
/// and trusts only the CA file it is given (no system store). Without
/// credentials it would fall back to anonymous ciphers (encryption without
/// authentication): `configure_tls` always sets all three and
/// `tls_enforced` lets the node refuse to start otherwise.

#include "core/result.hpp"

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <string>

namespace courier::cluster {

/// Which middleman publishes and connects the routers.
enum class router_transport { plain, tls };

/// The PEM files of a node's cluster identity.
struct tls_files {
  std::string cert; ///< this node's certificate (chain), signed by the cluster CA
  std::string key;  ///< its private key (unencrypted PEM)
  std::string ca;   ///< the cluster CA: the only issuer a peer's certificate may have
};

/// Checks the files at startup, as values: the certificate and key load
/// and match, and the certificate chains to the CA for both TLS client and
/// server use. CAF reads them only at the first connection, on its
/// multiplexer thread, where a bad file raises instead of returning.
core::result<core::unit_t> check_tls_identity(const tls_files& files);

/// Puts the files into CAF's `openssl.*` settings and loads the OpenSSL
/// module (the middleman must be loaded too). Call before the actor
/// system is made from `cfg`.
void configure_tls(caf::actor_system_config& cfg, const tls_files& files);

/// Whether the running system's OpenSSL module will authenticate peers
/// (rather than fall back to anonymous ciphers).
bool tls_enforced(caf::actor_system& sys);

/// Publishes `router` on `bind:port` (port 0: any free port); returns the
/// bound port.
caf::expected<std::uint16_t> publish_router(caf::actor_system& sys, const caf::actor& router,
                                            std::uint16_t port, const std::string& bind,
                                            router_transport transport);

/// Connects to the router published at `host:port`. Blocks until the
/// (TLS and CAF) handshakes end; a peer that fails verification closes the
/// connection and this returns an error.
caf::expected<caf::actor> connect_router(caf::actor_system& sys, const std::string& host,
                                         std::uint16_t port, router_transport transport);

} // namespace courier::cluster
