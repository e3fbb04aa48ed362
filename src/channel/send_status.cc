#include "channel/send_status.h"

namespace qc::channel {

circuit::SendStatus send_status_of(transport::DatagramStatus status) {
  switch (status) {
    case transport::DatagramStatus::kAccepted:
      return circuit::SendStatus::kSent;
    case transport::DatagramStatus::kBlocked:
      return circuit::SendStatus::kBlocked;
    case transport::DatagramStatus::kTooBig:
      return circuit::SendStatus::kTooBig;
    case transport::DatagramStatus::kUnsupported:
    case transport::DatagramStatus::kInvalid:
      break;
  }
  return circuit::SendStatus::kClosed;
}

}  // namespace qc::channel
