"""AnySupport agent console (상담원 프로그램): a PyQt5 shell over the Qt-free client library."""
