package nettest

import (
	"context"
	"net/http"
)

// StallWriter passes Left bytes of a response, flushes them, then holds
// the connection silent until Ctx (the request's) ends: a body that stalls
// mid-way.
type StallWriter struct {
	http.ResponseWriter
	Ctx  context.Context
	Left int
}

func (w *StallWriter) Write(p []byte) (int, error) {
	if len(p) <= w.Left {
		w.Left -= len(p)
		return w.ResponseWriter.Write(p)
	}
	n, _ := w.ResponseWriter.Write(p[:w.Left])
	w.Left = 0
	w.ResponseWriter.(http.Flusher).Flush()
	<-w.Ctx.Done()
	return n, w.Ctx.Err()
}
