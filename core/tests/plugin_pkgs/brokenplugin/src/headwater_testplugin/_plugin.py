raise ImportError("libwidget.so.3: cannot open shared object file")
