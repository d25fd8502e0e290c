#pragma once
/// \file
/// The ONE place message types are registered with CAF. A type that is not
/// registered, or registered under another name on another node, arrives as
/// an empty message without an error (STACK_NOTES.md), so every node calls
/// this exactly once on its config, before creating the actor system.

namespace caf {
class actor_system_config;
} // namespace caf

namespace courier::msg {

/// Registers every struct of client.hpp (as "courier.<type>"), the nested
/// values, core::error and the vectors that appear in messages.
void register_message_types(caf::actor_system_config& cfg);

} // namespace courier::msg
