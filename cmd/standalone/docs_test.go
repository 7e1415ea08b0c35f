package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/chirper/chirper/pkg/client"
	"github.com/chirper/chirper/pkg/httpapi"
)

// chromium finds the headless browser: make test installs Debian's
// chromium when it is missing, and TEST_REQUIRE_CHROMIUM makes its
// absence a failure there.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("TEST_REQUIRE_CHROMIUM") != "" {
		t.Fatal("TEST_REQUIRE_CHROMIUM is set but there is no chromium on PATH")
	}
	t.Skip("SKIPPED: no chromium on PATH (make test installs it); the API reference page is not tested")
	return ""
}

// TestDocsPageInABrowser opens /docs in headless Chromium: the page renders
// every operation of the routing table from the live document, "Try it
// out" on GET /v1/chirps gets a 200 from this server, and the browser
// reports no error (a script or style the Content-Security-Policy refused
// would be one). It saves a screenshot as bin/docs.png.
func TestDocsPageInABrowser(t *testing.T) {
	browser := chromium(t)
	s := startStandalone(t, nil)
	ctx := context.Background()
	anon := client.New(s.URL, nil)
	if _, err := anon.Register(ctx, client.Registration{Username: "reader", Password: "long enough"}); err != nil {
		t.Fatal(err)
	}

	alloc, cancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1280, 1600))...)
	defer cancel()
	tab, cancel := chromedp.NewContext(alloc)
	defer cancel()
	tab, cancel = context.WithTimeout(tab, time.Minute)
	defer cancel()

	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(tab, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				problems = append(problems, fmt.Sprintf("%s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	op := "#operations-chirps-listChirps "
	if err := chromedp.Do(tab,
		chromedp.Navigate(s.URL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(".opblock")),
	); err != nil {
		t.Fatalf("the page in the browser: %v", err)
	}
	operations, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".opblock")).map(op =>
		op.querySelector(".opblock-summary-method").textContent.toUpperCase() + " " +
		op.querySelector(".opblock-summary-path").getAttribute("data-path"))`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(op+".opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(op+"button.execute")),
		chromedp.Click(chromedp.CSS(op+"button.execute")),
		chromedp.WaitVisible(chromedp.CSS(op+".live-responses-table tr.response .response-col_status")),
	); err != nil {
		t.Fatalf("trying GET /v1/chirps on the page: %v", err)
	}
	status, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(op+".live-responses-table tr.response .response-col_status")))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("../../bin", 0o755); err == nil {
		if err := os.WriteFile(filepath.Join("../../bin", "docs.png"), shot, 0o644); err != nil {
			t.Errorf("saving the screenshot: %v", err)
		}
	}

	for _, r := range httpapi.Routes {
		want := r.Method + " " + httpapi.PlainTemplate(r.Path)
		if !slices.Contains(operations, want) {
			t.Errorf("the page does not list %s; it lists %v", want, operations)
		}
	}
	if got := strings.TrimSpace(status); got != "200" {
		t.Errorf("Try it out on GET /v1/chirps: %q, want 200", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the browser reported: %s", strings.Join(problems, "\n"))
	}
}
