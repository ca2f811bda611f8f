//! rekey's black-box tests live in `blackbox/`: they start the real `rekey` binary and speak
//! HTTP to it. This library target is empty.
