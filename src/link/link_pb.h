// The generated link messages (src/proto/link.proto).
//
// The project's convention is "proto/link.pb.h"; the current src/proto/CMakeLists.txt emits the
// header one directory up (build/src/link.pb.h). Accept both until that is fixed.
#pragma once

#if __has_include("proto/link.pb.h")
#include "link/link_pb.h"  // IWYU pragma: export
#else
#include "link.pb.h"  // IWYU pragma: export
#endif
