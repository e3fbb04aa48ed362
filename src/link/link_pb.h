// The generated link messages (src/proto/link.proto), included as "proto/link.pb.h" (generated
// into <build>/src/proto). The fallback serves build trees configured before that layout.
#pragma once

#if __has_include("proto/link.pb.h")
#include "proto/link.pb.h"  // IWYU pragma: export
#else
#include "link.pb.h"  // IWYU pragma: export
#endif
