package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/chirper/chirper/pkg/httpapi"
)

// validator is an http.RoundTripper that checks every request and response
// against the API's OpenAPI document. A response that breaks the document
// fails the test; so does a request that breaks it but is not refused with
// a 4xx, since the server must reject what the document does not allow.
type validator struct {
	tb     testing.TB
	next   http.RoundTripper
	router routers.Router
	doc    *openapi3.T
}

// ValidatingClient returns an HTTP client for the API at baseURL whose every
// exchange is checked against openapi.yaml.
func ValidatingClient(tb testing.TB, baseURL string) *http.Client {
	tb.Helper()
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIDocument())
	if err != nil {
		tb.Fatalf("openapi.yaml does not load: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		tb.Fatalf("openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: baseURL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Transport: &validator{tb: tb, next: http.DefaultTransport, router: router, doc: doc}}
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}

	// HEAD is documented through its GET.
	probe := req.Clone(req.Context())
	if req.Method == http.MethodHead {
		probe.Method = http.MethodGet
	}
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, routeErr := v.router.FindRoute(probe)

	var input *openapi3filter.RequestValidationInput
	var reqErr error
	if routeErr == nil {
		input = &openapi3filter.RequestValidationInput{
			Request: probe, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		reqErr = openapi3filter.ValidateRequest(req.Context(), input)
	}

	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if routeErr == nil && resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") == "text/event-stream" {
		return v.stream(req, input, reqErr, resp), nil
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	where := req.Method + " " + req.URL.RequestURI()
	switch {
	case routeErr != nil:
		// Not a documented operation: it must be refused as a problem.
		if (resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed) ||
			resp.Header.Get("Content-Type") != "application/problem+json; charset=utf-8" {
			v.tb.Errorf("openapi: %s is not in the document but was answered %d %s", where, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	default:
		if reqErr != nil && resp.StatusCode < 400 {
			v.tb.Errorf("openapi: %s breaks the document (%v) but was accepted with %d", where, reqErr, resp.StatusCode)
		}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: input,
			Status:                 resp.StatusCode,
			Header:                 resp.Header,
			Body:                   io.NopCloser(bytes.NewReader(respBody)),
			Options: &openapi3filter.Options{
				IncludeResponseStatus: true,
				ExcludeResponseBody:   req.Method == http.MethodHead,
			},
		}
		if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
			v.tb.Errorf("openapi: the answer to %s (%d) breaks the document: %v", where, resp.StatusCode, err)
		}
	}
	return resp, nil
}

// stream checks a live stream's answer without waiting for its end: the
// status and headers at once, and each event's data as it is read.
func (v *validator) stream(req *http.Request, input *openapi3filter.RequestValidationInput, reqErr error, resp *http.Response) *http.Response {
	where := req.Method + " " + req.URL.RequestURI()
	if reqErr != nil {
		v.tb.Errorf("openapi: %s breaks the document (%v) but was accepted with %d", where, reqErr, resp.StatusCode)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input, Status: resp.StatusCode, Header: resp.Header, Body: http.NoBody,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.tb.Errorf("openapi: the answer to %s breaks the document: %v", where, err)
	}
	if _, ok := input.Route.Operation.Responses.Status(http.StatusOK).Value.Content["text/event-stream"]; !ok {
		v.tb.Errorf("openapi: %s answered text/event-stream, which the document does not say", where)
	}
	pr, pw := io.Pipe()
	body := resp.Body
	go func() {
		err := v.checkEvents(where, io.TeeReader(body, pw))
		pw.CloseWithError(err)
	}()
	resp.Body = &pipeBody{PipeReader: pr, upstream: body}
	return resp
}

// pipeBody is a live stream's body as the caller reads it; closing it
// closes the connection too.
type pipeBody struct {
	*io.PipeReader
	upstream io.Closer
}

func (b *pipeBody) Close() error {
	b.upstream.Close()
	return b.PipeReader.Close()
}

// eventSchema is the documented schema of an event type's data; nil for
// an undocumented type.
func (v *validator) eventSchema(event string) *openapi3.Schema {
	switch event {
	case "chirp":
		return v.doc.Components.Schemas["Chirp"].Value
	case "delete": // {"id": <ID>}, as the stream's description says
		return openapi3.NewObjectSchema().WithPropertyRef("id", v.doc.Components.Schemas["ID"]).
			WithRequired([]string{"id"}).WithoutAdditionalProperties()
	}
	return nil
}

// checkEvents reads server-sent events and checks each one's data against
// the schema of its type, until the stream ends.
func (v *validator) checkEvents(where string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	event, data := "", ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && event != "":
			schema := v.eventSchema(event)
			var value any
			switch {
			case schema == nil:
				v.tb.Errorf("openapi: %s sent an event of an undocumented type %q", where, event)
			case json.Unmarshal([]byte(data), &value) != nil:
				v.tb.Errorf("openapi: %s sent a %s event whose data is not JSON: %q", where, event, data)
			default:
				if err := schema.VisitJSON(value); err != nil {
					v.tb.Errorf("openapi: %s sent a %s event that breaks its schema: %v", where, event, err)
				}
			}
			event, data = "", ""
		}
	}
	return sc.Err()
}
