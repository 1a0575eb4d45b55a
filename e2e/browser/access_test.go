package browser

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The scopes the browser stack's GET /v1/scopes lists: the example
// product's (declared in main_test.go) and keygate's usage:read.
var wantScopes = []scopeBox{
	{Name: "*", Checked: true, About: "every scope, including ones added later"},
	{Name: "reports:read", Disabled: true, About: "List the caller's reports · GET /v1/reports"},
	{Name: "reports:write", Disabled: true, About: "Create a report · POST /v1/reports"},
	{Name: "usage:read", Disabled: true, About: "GET /v1/usage"},
}

// scopeBox is a checkbox of the scopes fieldset as the page shows it.
type scopeBox struct {
	Name              string
	Checked, Disabled bool
	// About is the text the checkbox is described by (aria-describedby).
	About string
}

// scopeBoxes reads the scopes fieldset inside the element matching within.
func (tb *tab) scopeBoxes(within string) []scopeBox {
	tb.t.Helper()
	return eval[[]scopeBox](tb, fmt.Sprintf(`[...document.querySelectorAll(%q)].map((el) => ({
		Name: el.value, Checked: el.checked, Disabled: el.disabled,
		About: document.getElementById(el.getAttribute("aria-describedby"))?.textContent.trim() ?? "",
	}))`, within+" fieldset input[name=scopes]"))
}

// checkScopeBoxes compares the boxes with want: names, states, and that
// each box's description holds want's (the scope's description and routes).
func checkScopeBoxes(t *testing.T, got, want []scopeBox) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.Name == w.Name && g.Checked == w.Checked && g.Disabled == w.Disabled && strings.Contains(g.About, w.About)
	}
	if !ok {
		t.Errorf("scope checkboxes:\n got %+v\nwant %+v", got, want)
	}
}

// keyObject is the key object of prefix as GET /v1/api-keys shows it to its owner.
func keyObject(t *testing.T, e *env, jwt, prefix string) map[string]any {
	t.Helper()
	status, _, m := callAPI(t, e, "GET", "/v1/api-keys?status=all", jwt, "")
	if status != 200 {
		t.Fatalf("list keys: %d %v", status, m)
	}
	for _, k := range m["data"].(map[string]any)["keys"].([]any) {
		if k := k.(map[string]any); k["prefix"] == prefix {
			return k
		}
	}
	t.Fatalf("no key %s in the owner's list", prefix)
	return nil
}

// workspaceKeyObject is the key object of prefix as the workspace API lists it.
func workspaceKeyObject(t *testing.T, e *env, jwt, prefix string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", e.stack.API.URL+"/api/v1/workspaces/acme/api-keys", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var keys []map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(b, &keys) != nil {
		t.Fatalf("list workspace keys: %d %s", resp.StatusCode, b)
	}
	for _, k := range keys {
		if k["key_prefix"] == prefix {
			return k
		}
	}
	t.Fatalf("no key %s in the workspace's list", prefix)
	return nil
}

// checkAccess compares a key object's scopes and networks with want.
func checkAccess(t *testing.T, what string, scopes, networks any, wantScopes, wantNetworks []string) {
	t.Helper()
	toStrings := func(v any) []string {
		out := []string{}
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	if got := toStrings(scopes); !reflect.DeepEqual(got, wantScopes) {
		t.Errorf("%s: scopes %q, want %q", what, got, wantScopes)
	}
	if got := toStrings(networks); !reflect.DeepEqual(got, wantNetworks) {
		t.Errorf("%s: networks %q, want %q", what, got, wantNetworks)
	}
}

// cardAccess is what a key's card says about its access: the scopes item
// and the networks item ("" when there is none).
func (tb *tab) cardAccess(prefix string) (scopes, networks string) {
	tb.t.Helper()
	c := card(prefix)
	scopes = tb.text(c + " [data-testid=access] [data-testid=scopes]")
	if tb.exists(c + " [data-testid=access] [data-testid=networks]") {
		networks = tb.text(c + " [data-testid=access] [data-testid=networks]")
	}
	return scopes, networks
}

// TestCreateScopedKeyWithTheKeyboard: the create dialog offers the API's
// scopes as checkboxes in a fieldset, each described by what it is for and
// its routes, with Full access ticked and the others disabled; with the
// keyboard alone a person unticks Full access, picks reports:read and types
// networks. No scope, or a network with host bits set, is refused next to
// its field before any request; the key made says "Read-only: reports:read"
// and "Only from ..." on its card, and the API holds it to that: GET
// /v1/usage (scope usage:read) is 403 and counts nothing.
func TestCreateScopedKeyWithTheKeyboard(t *testing.T) {
	e := browserEnv(t)
	_, jwt := signInTokens(t, e, "pro@example.com")
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	dlg := `[data-testid=create-dialog]`

	tb.do(chromedp.Focus(button("Create API key")), chromedp.KeyEvent("\r"))
	tb.do(chromedp.WaitVisible(chromedp.CSS(dlg + ` input[name=name]`)))
	tb.waitFocus(dlg + ` input[name=name]`)
	tb.waitText(dlg+` [data-testid=scopes-field]`, "usage:read")
	checkScopeBoxes(t, tb.scopeBoxes(dlg), wantScopes)
	if got := tb.text(dlg + ` fieldset legend`); !strings.HasPrefix(got, "Scopes") {
		t.Errorf("the scopes' legend is %q", got)
	}
	if got := tb.text(dlg + ` label[for=allowedIps-field]`); got != "Allowed networks" {
		t.Errorf("the networks' label is %q", got)
	}
	tb.checkLabels()

	tb.do(chromedp.KeyEvent("Reports reader"))
	tb.tabTo(dlg + ` #scope-all`)
	tb.do(chromedp.KeyEvent(" "))
	submit := dlg + ` button[type=submit]`
	tb.tabTo(submit)
	tb.do(chromedp.KeyEvent("\r"))
	if got := tb.waitText(dlg+` [data-testid=scopes-error]`, "scope"); got != "Choose at least one scope, or Full access." {
		t.Errorf("no scope chosen: %q", got)
	}
	if got := eval[string](tb, `document.querySelector("[data-testid=create-dialog] fieldset").getAttribute("aria-describedby")`); !strings.Contains(got, "scopes-error") {
		t.Errorf("the fieldset is described by %q, not by its error", got)
	}
	tb.waitFocus(dlg + ` #scope-all`) // the first control of the field at fault

	tb.tabTo(dlg + ` input[name=scopes][value="reports:read"]`)
	tb.do(chromedp.KeyEvent(" "))
	tb.tabTo(dlg + ` textarea[name=allowedIps]`)
	tb.do(chromedp.KeyEvent("127.0.0.1\r10.0.0.1/8"))
	tb.tabTo(submit)
	tb.do(chromedp.KeyEvent("\r"))
	want := `Line 2: "10.0.0.1/8" has bits set after its prefix length; the network is 10.0.0.0/8.`
	if got := tb.waitText(dlg+` [data-testid=allowedIps-error]`, "Line 2"); got != want {
		t.Errorf("host bits: %q, want %q", got, want)
	}
	tb.waitFocus(dlg + ` textarea[name=allowedIps]`)
	if tb.exists(dlg + ` [data-testid=scopes-error]`) {
		t.Error("the scopes' error is still shown after the scope was chosen")
	}
	for range len("10.0.0.1/8") {
		tb.do(chromedp.KeyEvent("\b"))
	}
	tb.do(chromedp.KeyEvent("203.0.113.0/24"))
	tb.tabTo(submit)
	tb.do(chromedp.KeyEvent("\r"))
	key := tb.readShownKey()
	prefix := key[:17]

	scopes, networks := tb.cardAccess(prefix)
	if scopes != "Read-only: reports:read" || networks != "Only from 127.0.0.1/32, 203.0.113.0/24" {
		t.Errorf("the card says %q and %q", scopes, networks)
	}
	k := keyObject(t, e, jwt, prefix)
	checkAccess(t, "the key object", k["scopes"], k["allowedIps"], []string{"reports:read"}, []string{"127.0.0.1/32", "203.0.113.0/24"})

	// The key made in the console is held to its scope by the API.
	status, _, m := callAPI(t, e, "GET", "/v1/usage", key, "")
	if status != 403 || !strings.Contains(errMessage(m), "scope") {
		t.Errorf("GET /v1/usage with a reports:read key: %d %q, want 403 about its scopes", status, errMessage(m))
	}
	status, _, m = callAPI(t, e, "GET", "/v1/usage", jwt, "")
	if status != 200 {
		t.Fatalf("usage: %d %v", status, m)
	}
	for _, u := range m["data"].(map[string]any)["keys"].([]any) {
		if u := u.(map[string]any); u["prefix"] == prefix && u["used"].(float64) != 0 {
			t.Errorf("the refused request was counted: used %v", u["used"])
		}
	}

	// A key left at Full access from anywhere says so, with no networks item.
	full := tb.createKey("Full access key", "")
	if scopes, networks := tb.cardAccess(full[:17]); scopes != "Full access" || networks != "" {
		t.Errorf("a key with full access from anywhere: %q and %q", scopes, networks)
	}
}

// TestEditAndRotateScopesAndNetworks: the edit dialog holds the key's
// current access; narrowing the networks there is 403 naming the caller's
// address on the very next request, and narrowing the scopes (with the
// networks opened again) is 403 for the scope; the card and the key object
// follow each change, and the focus goes back to the Edit button. A rotation
// keeps both by default ("as they are").
func TestEditAndRotateScopesAndNetworks(t *testing.T) {
	e := browserEnv(t)
	_, jwt := signInTokens(t, e, "pro@example.com")
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	key := tb.createKey("Edited access", "")
	prefix := key[:17]
	tb.waitText(card(prefix)+" [data-testid=access]", "Full access")
	if status, _, m := callAPI(t, e, "GET", "/v1/usage", key, ""); status != 200 {
		t.Fatalf("usage with a full-access key: %d %v", status, m)
	}

	dlg := `[data-testid=edit-dialog]`
	edit := fmt.Sprintf(`%s button[aria-label="Edit Edited access"]`, card(prefix))
	openEdit := func() {
		t.Helper()
		tb.do(chromedp.Click(chromedp.CSS(edit)), chromedp.WaitVisible(chromedp.CSS(dlg+` textarea[name=allowedIps]`)))
		tb.waitText(dlg+` [data-testid=scopes-field]`, "usage:read")
	}
	save := func() {
		t.Helper()
		tb.do(chromedp.Click(chromedp.CSS(dlg + ` button[type=submit]`)))
		tb.waitGone(dlg)
		tb.waitFocus(edit)
	}

	// Narrow the networks to ones this test is not in.
	openEdit()
	checkScopeBoxes(t, tb.scopeBoxes(dlg), wantScopes)
	tb.checkLabels()
	tb.setField(dlg+` textarea[name=allowedIps]`, "198.51.100.0/24\n")
	save()
	tb.waitText(card(prefix)+" [data-testid=access]", "Only from 198.51.100.0/24")
	status, _, m := callAPI(t, e, "GET", "/v1/usage", key, "")
	if status != 403 || !strings.Contains(errMessage(m), "127.0.0.1") {
		t.Errorf("the request right after narrowing the networks: %d %q, want 403 naming 127.0.0.1", status, errMessage(m))
	}

	// From anywhere again, but only reports:read.
	openEdit()
	if got := runT(tb, chromedp.Value(chromedp.CSS(dlg+` textarea[name=allowedIps]`))); got != "198.51.100.0/24" {
		t.Errorf("the edit dialog's networks hold %q, want the key's", got)
	}
	tb.setField(dlg+` textarea[name=allowedIps]`, "")
	tb.do(chromedp.Click(chromedp.CSS(dlg+` #scope-all`)), chromedp.Click(chromedp.CSS(dlg+` input[name=scopes][value="reports:read"]`)))
	save()
	tb.waitText(card(prefix)+" [data-testid=access]", "Read-only: reports:read")
	if _, networks := tb.cardAccess(prefix); networks != "" {
		t.Errorf("a key usable from anywhere says %q", networks)
	}
	k := keyObject(t, e, jwt, prefix)
	checkAccess(t, "after the edits", k["scopes"], k["allowedIps"], []string{"reports:read"}, []string{})
	status, _, m = callAPI(t, e, "GET", "/v1/usage", key, "")
	if status != 403 || !strings.Contains(errMessage(m), "scope") {
		t.Errorf("the request right after narrowing the scopes: %d %q, want 403 about its scopes", status, errMessage(m))
	}

	// The edit dialog shows what it holds: reports:read ticked, Full access not.
	openEdit()
	boxes := tb.scopeBoxes(dlg)
	if len(boxes) != 4 || boxes[0].Checked || !boxes[1].Checked || boxes[1].Disabled || boxes[2].Checked {
		t.Errorf("the edit dialog of a reports:read key: %+v", boxes)
	}
	tb.do(chromedp.Click(`//dialog[@data-testid="edit-dialog"]` + button("Cancel")))
	tb.waitGone(dlg)

	// Rotating keeps them, as they are, unless asked otherwise.
	tb.clickKeyAction(prefix, "Rotate")
	rot := `[data-testid=rotate-dialog]`
	if got := tb.waitText(rot+` [data-testid=current-access]`, "reports:read"); got != "Read-only: reports:read; from anywhere" {
		t.Errorf("the rotate dialog says the key has %q", got)
	}
	if !eval[bool](tb, `document.querySelector("[data-testid=rotate-dialog] #keep-access").checked`) || tb.exists(rot+` fieldset`) {
		t.Error(`"Keep its scopes and networks as they are" is not the default`)
	}
	tb.do(chromedp.Click(chromedp.CSS(rot + ` button[type=submit]`)))
	successor := tb.readShownKey()
	if scopes, networks := tb.cardAccess(successor[:17]); scopes != "Read-only: reports:read" || networks != "" {
		t.Errorf("the successor's card says %q and %q", scopes, networks)
	}
	k = keyObject(t, e, jwt, successor[:17])
	checkAccess(t, "the successor", k["scopes"], k["allowedIps"], []string{"reports:read"}, []string{})
}

// TestWorkspaceKeyAccess: a workspace key is made with scopes and networks
// from the console; the dialog says workspace keys cannot be edited, and a
// rotation is where new ones are chosen for the successor (the fields start
// from the key's own).
func TestWorkspaceKeyAccess(t *testing.T) {
	e := browserEnv(t)
	_, jwt := signInTokens(t, e, "alice@example.com")
	tb := newTab(t, e)
	tb.openWorkspace("alice@example.com")
	if got := tb.text(`.section-head p.muted`); !strings.Contains(got, "no PATCH") {
		t.Errorf("the workspace's intro does not say its keys cannot be edited: %q", got)
	}
	dlg := `[data-testid=create-dialog]`
	tb.do(
		chromedp.Click(button("Create API key")),
		chromedp.WaitVisible(chromedp.CSS(dlg+` input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(dlg+` input[name=name]`), "Workspace usage reader"),
	)
	tb.waitText(dlg+` [data-testid=scopes-field]`, "usage:read")
	tb.waitText(dlg+` [data-testid=not-editable]`, "cannot be edited")
	tb.do(chromedp.Click(chromedp.CSS(dlg+` #scope-all`)), chromedp.Click(chromedp.CSS(dlg+` input[name=scopes][value="usage:read"]`)))
	tb.setField(dlg+` textarea[name=allowedIps]`, "127.0.0.1\n2001:DB8:0:0::/64")
	tb.do(chromedp.Click(chromedp.CSS(dlg + ` button[type=submit]`)))
	key := tb.readShownKey()
	prefix := key[:17]
	if scopes, networks := tb.cardAccess(prefix); scopes != "Read-only: usage:read" || networks != "Only from 127.0.0.1/32, 2001:db8::/64" {
		t.Errorf("the workspace key's card says %q and %q", scopes, networks)
	}
	if tb.exists(card(prefix) + ` button[aria-label^="Edit"]`) {
		t.Error("a workspace key has an Edit button")
	}
	if status, _, m := callAPI(t, e, "GET", "/v1/usage", key, ""); status != 200 {
		t.Errorf("usage with the workspace key from 127.0.0.1: %d %v", status, m)
	}

	// Rotate, choosing anew: the fields start from the key's own.
	tb.clickKeyAction(prefix, "Rotate")
	rot := `[data-testid=rotate-dialog]`
	tb.waitText(rot+` [data-testid=current-access]`, "workspace keys cannot be edited")
	tb.do(chromedp.Click(chromedp.CSS(rot + ` #keep-access`)))
	tb.waitText(rot+` [data-testid=scopes-field]`, "usage:read")
	if got := runT(tb, chromedp.Value(chromedp.CSS(rot+` textarea[name=allowedIps]`))); got != "127.0.0.1/32\n2001:db8::/64" {
		t.Errorf("the rotate dialog's networks start as %q", got)
	}
	boxes := tb.scopeBoxes(rot)
	if len(boxes) != 4 || boxes[0].Checked || !boxes[3].Checked {
		t.Errorf("the rotate dialog's scopes start as %+v", boxes)
	}
	tb.checkLabels()
	tb.do(chromedp.Click(chromedp.CSS(rot + ` #scope-all`)))
	tb.setField(rot+` textarea[name=allowedIps]`, "")
	tb.do(chromedp.Click(chromedp.CSS(rot + ` button[type=submit]`)))
	successor := tb.readShownKey()
	if scopes, networks := tb.cardAccess(successor[:17]); scopes != "Full access" || networks != "" {
		t.Errorf("the successor's card says %q and %q", scopes, networks)
	}
	k := workspaceKeyObject(t, e, jwt, successor[:17])
	checkAccess(t, "the successor", k["scopes"], k["allowed_ips"], []string{"*"}, []string{})
	k = workspaceKeyObject(t, e, jwt, prefix)
	checkAccess(t, "the rotated key", k["scopes"], k["allowed_ips"], []string{"usage:read"}, []string{"127.0.0.1/32", "2001:db8::/64"})
}
