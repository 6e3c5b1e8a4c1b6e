package message

import (
	htmltemplate "html/template"
	texttemplate "text/template"
)

// codeData fills the code email templates. Every field is escaped by html/template in the
// HTML part; the text part needs no escaping, and bodyValue has removed line breaks.
type codeData struct {
	Product, Code, ValidFor, Device, Network, When, From string
}

// noticeData fills the notice templates.
type noticeData struct {
	Product    string
	Paragraphs []string
	From       string
}

// The templates are parsed once and never modified; executing them is safe for concurrent use.
var (
	codeText = texttemplate.Must(texttemplate.New("code.txt").Parse(`Your {{.Product}} verification code is:

    {{.Code}}

Enter it at the login prompt to finish signing in. The code is valid for {{.ValidFor}} and works only once.

Who is asking:
  Device:  {{.Device}}
  Network: {{.Network}}
  Time:    {{.When}}

We asked for this code because someone signed in with your password from a device or network we have not seen you use before.

If this was not you, do not enter the code and do not share it with anyone: we will never ask you for it. Someone knows your password, so change it now (Profile > Personal data > Account Security) and sign out everywhere.

Not getting our emails? Whitelist {{.From}} (add it to your contacts or safe senders) and check your spam and trash folders.

{{.Product}}
`))

	codeHTML = htmltemplate.Must(htmltemplate.New("code.html").Parse(`<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>{{.Product}} verification code</title></head>
<body style="font-family: sans-serif; line-height: 1.5">
<p>Your {{.Product}} verification code is:</p>
<p style="font-size: 28px; font-weight: bold; letter-spacing: 4px">{{.Code}}</p>
<p>Enter it at the login prompt to finish signing in. The code is valid for {{.ValidFor}} and works only once.</p>
<table>
<tr><td>Device:</td><td>{{.Device}}</td></tr>
<tr><td>Network:</td><td>{{.Network}}</td></tr>
<tr><td>Time:</td><td>{{.When}}</td></tr>
</table>
<p>We asked for this code because someone signed in with your password from a device or network we have not seen you use before.</p>
<p><strong>If this was not you</strong>, do not enter the code and do not share it with anyone: we will never ask you for it. Someone knows your password, so change it now (Profile &gt; Personal data &gt; Account Security) and sign out everywhere.</p>
<p>Not getting our emails? Whitelist {{.From}} (add it to your contacts or safe senders) and check your spam and trash folders.</p>
<p>{{.Product}}</p>
</body>
</html>
`))

	noticeText = texttemplate.Must(texttemplate.New("notice.txt").Parse(`{{range .Paragraphs}}{{.}}

{{end}}This is an automatic security notice from {{.Product}}. If you did not make this change, change your password now and sign out everywhere (Profile > Personal data > Account Security).

{{.Product}}
`))

	noticeHTML = htmltemplate.Must(htmltemplate.New("notice.html").Parse(`<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>{{.Product}} security notice</title></head>
<body style="font-family: sans-serif; line-height: 1.5">
{{range .Paragraphs}}<p>{{.}}</p>
{{end}}<p>This is an automatic security notice from {{.Product}}. If you did not make this change, change your password now and sign out everywhere (Profile &gt; Personal data &gt; Account Security).</p>
<p>{{.Product}}</p>
</body>
</html>
`))
)
