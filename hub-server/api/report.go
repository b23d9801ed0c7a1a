package api

import "strings"

// Problem reports and their public status page.
//
// A resident's problem report is a record of type [RecordProblemReport]
// whose payload is a [ProblemReport]. Its reference number — printed on
// the receipt and typed into, or opened through the QR code of, the hub's
// public status page [StatusPath] — is derived from the record ID by
// [ReportReference]: the last 8 characters of the ULID (its random part,
// Crockford base32, which has no I, L, O or U to misread) as XXXX-XXXX.
// The terminal and the hub both use this function.

// Record types of resident submissions the hub's console reads.
const (
	RecordProblemReport  = "problem_report"
	RecordSurveyResponse = "survey_response"
)

// ProblemReport is the payload of a problem_report record.
type ProblemReport struct {
	Category  string  `json:"category"`
	Text      string  `json:"text,omitempty"` // the resident's words: personal, never public unless approved
	Place     string  `json:"place,omitempty"`
	PlaceName string  `json:"place_name,omitempty"`
	Language  string  `json:"language,omitempty"`
	Lat       float64 `json:"lat,omitempty"`
	Lon       float64 `json:"lon,omitempty"`
}

// SurveyResponse is the payload of a survey_response record.
type SurveyResponse struct {
	Survey string `json:"survey"`
	// Respondent is a keyed hash that enforces the survey's once-rule.
	Respondent string                  `json:"respondent"`
	Once       string                  `json:"once"`
	Language   string                  `json:"language"`
	Answers    map[string]SurveyAnswer `json:"answers"`
}

// SurveyAnswer answers one question: Choices (single, multiple), Scale or Text.
type SurveyAnswer struct {
	Choices []string `json:"choices,omitempty"`
	Scale   *int     `json:"scale,omitempty"`
	Text    string   `json:"text,omitempty"`
}

// ReportReference returns the reference number of the report recorded
// under recordID: its last 8 characters, upper-case, as XXXX-XXXX.
func ReportReference(recordID string) string {
	id := strings.ToUpper(recordID)
	if len(id) < 8 {
		return id
	}
	tail := id[len(id)-8:]
	return tail[:4] + "-" + tail[4:]
}

// ParseReference normalises what a person typed as a reference number
// (spaces, lower case, a missing dash, I/L read as 1 and O as 0) to
// XXXX-XXXX, and reports whether it can be one.
func ParseReference(s string) (string, bool) {
	var b []byte
	for _, c := range strings.ToUpper(s) {
		switch {
		case c == ' ' || c == '-':
			continue
		case c == 'I' || c == 'L':
			c = '1'
		case c == 'O':
			c = '0'
		}
		if c > 127 || !crockford[c] {
			return "", false
		}
		b = append(b, byte(c))
	}
	if len(b) != 8 {
		return "", false
	}
	return string(b[:4]) + "-" + string(b[4:]), true
}

// StatusPath is the hub's public, read-only status page of the report
// with reference ref.
func StatusPath(ref string) string { return "/status/" + ref }
