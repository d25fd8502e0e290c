#include "messages/client.hpp"

namespace courier::msg {

std::string_view type_of(const client_body& body) noexcept {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::type; },
                    body);
}

} // namespace courier::msg
