"""Writers: each logs one kind of message (an image scan, …) behind the batch runner."""
