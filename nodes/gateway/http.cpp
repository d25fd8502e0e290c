#include "nodes/gateway/http.hpp"

#include "core/assert.hpp"
#include "nodes/gateway/detail/responder_state.hpp"

#include <cctype>

namespace courier::gateway {
namespace {
bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}
} // namespace

std::optional<std::string_view> http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name))
      return std::string_view{v};
  return std::nullopt;
}

std::optional<std::string_view> http_request::bearer_token() const {
  auto h = header("Authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (!h || h->size() <= scheme.size() || !iequals(h->substr(0, scheme.size()), scheme))
    return std::nullopt;
  auto token = h->substr(scheme.size());
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  if (token.empty())
    return std::nullopt;
  return token;
}

responder::responder(std::shared_ptr<detail::responder_state> state)
    : state_(std::move(state)) {
  COURIER_ASSERT(state_ != nullptr);
}

void responder::operator()(http_response response) const {
  // Exactly once: a second answer is a programmer error in the wiring.
  auto already = state_->used.exchange(true);
  COURIER_ASSERT(!already);
  if (state_->on_answer)
    state_->on_answer();
  state_->deliver(std::move(response));
}

void responder::on_answer(std::function<void()> fn) { state_->on_answer = std::move(fn); }

namespace detail {

responder_state::~responder_state() {
  if (!used.load()) {
    http_response r;
    r.status = 500;
    r.body = R"({"type":"error","code":"internal","message":"request was not answered"})";
    deliver(std::move(r));
  }
}

void responder_state::deliver(http_response r) {
  std::lock_guard<std::mutex> guard{m};
  if (link != nullptr)
    link->respond(std::move(r));
  link = nullptr;
}

void responder_state::detach() {
  std::lock_guard<std::mutex> guard{m};
  link = nullptr;
}

} // namespace detail
} // namespace courier::gateway
