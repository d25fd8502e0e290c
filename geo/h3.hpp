#pragma once
/// \file
/// Everything the geo layer offers, for callers that want one include.

#include "geo/cell.hpp"
#include "geo/distance.hpp"
#include "geo/hierarchy.hpp"
#include "geo/indexing.hpp"
#include "geo/status.hpp"
#include "geo/traversal.hpp"
