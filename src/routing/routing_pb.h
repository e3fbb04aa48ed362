// The generated routing messages (src/proto/routing.proto).
//
// The project's convention is "proto/routing.pb.h"; the current src/proto/CMakeLists.txt emits
// the header one directory up (build/src/routing.pb.h). Accept both until that is fixed.
#pragma once

#if __has_include("proto/routing.pb.h")
#include "proto/routing.pb.h"  // IWYU pragma: export
#else
#include "routing.pb.h"  // IWYU pragma: export
#endif
