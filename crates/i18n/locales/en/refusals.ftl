## Why a request was refused: the problem's detail in the API, the notice on a page.

# The names of the fields a refusal can be about.
field-word-subject = subject
field-word-body = body
field-word-name = name
field-word-text = text
field-word-label = label
field-word-option = option
field-word-comment = comment
field-word-organisation-name = organisation_name

refusal-text-empty = { $field } must not be empty
refusal-text-long = { $field } is longer than { $max } characters
refusal-text-control = { $field } contains control characters
refusal-text-one-line = { $field } must be one line
refusal-query-long = query is longer than { $max } bytes
refusal-search-long = a search is at most { $max } characters
refusal-tags-at-most = at most { $max } tags
refusal-tag-form = tags are 1 to 64 letters, digits, - or _
refusal-tags-lower-case = tags are lower case
refusal-empty-file = empty file
refusal-day-format = a day is written YYYY-MM-DD
refusal-no-order = no such order
refusal-no-view = no such view
refusal-locale-form = the locale must look like en, de or pt-BR
refusal-language = Palisade does not speak "{ $value }"
refusal-phone = phone must be digits, spaces and + - ( ) .
refusal-invalid-id = not a valid { $kind } identifier
refusal-invalid-email = not a valid email address
refusal-unknown-variant = unknown { $kind }: { $value }
refusal-invalid-tag = tag names are 1 to 64 characters of letters, digits, '-' or '_'
refusal-duplicate = an object with these values already exists
refusal-invalid-cursor = invalid cursor
refusal-invalid-version = invalid version
refusal-limit = limit must be 1 to { $max }
refusal-json-object = the body must be a JSON object
refusal-json-body = Failed to deserialize the JSON body into the target type: { $detail }
refusal-request-unreadable = the request could not be read: { $detail }
refusal-form-unreadable = the form could not be read
refusal-form-field = unexpected form field

# Tickets
refusal-no-team-yet = no team exists yet to receive tickets
refusal-own-name = customers open tickets in their own name
refusal-customer-team = customers cannot choose a team
refusal-unknown-team = unknown team
refusal-unknown-company = unknown company
refusal-no-company = no company { $value }
refusal-requester-customer = requester must be an existing customer
refusal-secure-public = secure delivery is for public replies; internal notes are never mailed
refusal-file-not-attachable = a file sent with a message must be one you attached to this ticket, of the same visibility, not yet sent with another message
refusal-unknown-assignee = unknown assignee
refusal-assignee-team = the assignee must be an agent of the ticket's team
refusal-assignee-me-or-nobody = assignee is me or nobody
refusal-assign-me-or-nobody = assign to me or to nobody
refusal-collaborators-customers = collaborators must be existing customers
refusal-requester-unconfirmed = the requester has not confirmed this ticket yet
refusal-ticket-merged = the ticket was merged into another; write there
refusal-merge-itself = a ticket cannot be merged into itself
refusal-link-itself = a ticket cannot be linked to itself
refusal-merge-chain = too many merges to follow
refusal-reply-form = the reply needs a body and a visibility
refusal-files-per-message = at most { $max } files go with one message
refusal-file-name = file name must be a plain name without path separators
refusal-choose-file = Choose a file to attach.
refusal-file-empty = The file is empty.
refusal-chosen-file-empty = A chosen file is empty.
refusal-bulk-count = select between 1 and { $max } tickets
refusal-bulk-twice = a ticket is selected twice

# Views
refusal-staff-filter = this filter is for staff
refusal-field-filter = a field filter names a field and a value
refusal-view-personal-field = a saved view cannot keep a personal field's value; filter the list instead

# Custom fields
refusal-field-key = a field's key is a lower-case letter, then up to 39 lower-case letters, digits or _
refusal-field-option-space = the option "{ $option }" begins or ends with white space
refusal-field-option-twice = the option "{ $option }" is listed twice
refusal-field-options-count = a drop-down has 1 to { $max } options
refusal-field-options-kind = only a drop-down has options
refusal-field-personal-kind = only text, number and date fields can hold personal data
refusal-field-kind = unknown field kind
refusal-field-number = { $field }: a number, with up to 6 decimals
refusal-field-date = { $field }: a date, as YYYY-MM-DD
refusal-field-choice = { $field }: one of the field's options
refusal-field-checkbox = { $field }: true or false
refusal-field-key-taken = a field with the key { $key } exists
refusal-no-field = there is no field "{ $key }"
refusal-fields-required = fill in the required fields before solving: { $list }

# Macros
refusal-macro-braces = braces are only for the placeholders { $list }
refusal-macro-personal-team = a personal macro has no team; share it to give it one
refusal-macro-empty-body = body must not be empty; leave it out instead

# People and staff
refusal-staff-endpoint = use /api/v1/customers for customers
refusal-admin-exists = an administrator already exists; ask them for an invitation
refusal-email-taken = an account with this email already exists
refusal-team-members-staff = team members must be existing staff
refusal-own-factors = change your own second factors on your security page
refusal-customer-factors = customers manage their own second factors
refusal-own-role = you cannot change your own role
refusal-staff-role = a staff role is admin, supervisor, agent, light_agent or auditor
refusal-customer-role = customers do not have staff roles
refusal-own-disable = you cannot disable your own account
refusal-share-tickets = share_tickets is yes or no
refusal-people-merge-self = a customer cannot be merged into themselves
refusal-people-merged-already = one of these accounts was merged already
refusal-people-merge-disabled = the account that stays is disabled; enable it or merge the other way

# Settings and notifications
refusal-no-setting = there is no setting "{ $name }"
refusal-setting-number = { $name }: a number from { $min } to { $max }
refusal-setting-whole-number = { $name }: a whole number from { $min } to { $max }
refusal-setting-locale = { $name }: a locale such as en, de or pt-BR
refusal-setting-privacy-url = { $name }: a path on this site (/help/…) or an https:// address
refusal-setting-is-number = { $name } is a number
refusal-setting-is-text = { $name } is text
refusal-notification-kind = unknown notification kind "{ $value }"
refusal-notification-channel = unknown channel "{ $value }": use off, in_app, email or digest

# Mail and quarantine
refusal-sender-may-not-open = the sender may not open tickets
refusal-sender-disabled = the sender's account is disabled
refusal-already-decided = this message was already decided
refusal-release-staff-sender = cannot release: the sender's address belongs to a staff or disabled account
refusal-release-may-not-open = cannot release: the sender may not open tickets
refusal-release-may-not-tag = cannot release: the reviewer may not tag this ticket
refusal-release-undeliverable = cannot release: the message cannot be delivered as it is

# Sign-in, second factors and tokens
refusal-session-limit = already signed in on another device; sign out there first
refusal-password-rejected = password rejected: { $reason }
refusal-password-short = use at least 12 characters
refusal-password-long = use at most 1024 bytes
refusal-password-common = this password is on a list of commonly used passwords
refusal-password-personal = do not build the password from your name or email address
refusal-password-guessable = this password is too easy to guess; a few unrelated words work well
refusal-provider-unreachable = the sign-in provider is not reachable; try again later
refusal-step-up = confirm it is you: re-enter your password and second factor, then try again
refusal-wrong-stage = this step does not apply to the current sign-in
refusal-already-enrolled = an authenticator app is already set up; remove it first
refusal-not-enrolled = no authenticator app enrolment is in progress
refusal-last-factor = this is your last second factor; add another before removing it
refusal-code-or-recovery = give either `code` or `recovery_code`, not both
refusal-code-required = `code` or `recovery_code` is required
refusal-unknown-ceremony = unknown ceremony
refusal-passkeys-off = passkeys are not set up on this desk
refusal-passkeys-at-most = at most { $max } passkeys
refusal-token-expiry = expiry must be 1 to { $max } days
refusal-token-scope = a token needs at least one scope

# The help centre and the assistant
refusal-article-slug-taken = another article already has this slug in this locale
refusal-article-body = invalid body: { $detail }
refusal-article-title = the title must be 1 to { $max } characters on one line
refusal-article-body-long = the body is longer than { $max } characters
refusal-article-slug = the slug may hold lower-case letters, digits and inner hyphens (at most 80)
refusal-article-audience = the audience must be public, customers or internal
refusal-article-company-id = "{ $value }" is not a company id
refusal-article-companies-at-most = at most { $max } companies
refusal-article-no-text = the body has no text once sanitised
refusal-article-companies = only an article for customers can be limited to companies
refusal-conversation-owner = a conversation is anonymous exactly when it has no owner
refusal-conversation-consent = agree to the notice, or choose human-only support
refusal-choose-support = choose the assistant or support from people
refusal-choose-one-support = choose either the assistant or support from people, not both
refusal-portal-and-site-token = a signed-in portal session cannot present a site token too
refusal-notice-changed = the notice has changed (now version { $number }); show it again
refusal-handover-confirm = confirm the handover
refusal-handed-over-already = this conversation was already handed over
refusal-handover-address = give an email address we can reply to
refusal-handover-address-invalid = that email address is not valid
refusal-conversation-expired = this verified conversation has expired; reload the page to start a new one
refusal-conversation-handed-over = this conversation was handed over to a person; start a new one for something else
refusal-conversation-long = this conversation is too long; hand it over to a person

# Service levels
refusal-calendar-zone = unknown time zone; use an IANA name such as Europe/Berlin
refusal-calendar-period = an opening period runs from HH:MM to a later HH:MM (at most 24:00) on a weekday
refusal-calendar-overlap = two opening periods of the same day overlap
refusal-calendar-never-open = a calendar needs opening hours
refusal-calendar-holidays = too many closed days
refusal-calendar-holiday = a closed day is a date (YYYY-MM-DD) or a month and day that exists
refusal-calendar-name-taken = another calendar has this name
refusal-calendar-in-use = a policy counts in this calendar; change the policy first
refusal-sla-minutes-form = a target is a whole number of minutes
refusal-sla-minutes = a target is 1 to { $max } minutes
refusal-sla-too-many = at most { $max }
refusal-sla-no-target = a policy sets at least one target
refusal-escalation-count = at most { $max } escalation steps
refusal-escalation-target = an escalation's target is first_response, next_response or resolution
refusal-escalation-nothing = an escalation step does something: notify, raise the priority or move the ticket
refusal-sla-position = the position is 0 to 10000
refusal-sla-no-calendar = there is no such calendar
refusal-sla-name-taken = another policy has this name
refusal-sla-personal-field = a personal field's value cannot be kept in a policy or a rule
refusal-rule-too-many = at most { $max } rules
refusal-rule-name-taken = another rule has this name
refusal-rule-nothing = a rule does something: reply, apply a macro, change the ticket, tag it or notify
refusal-rule-when = a rule runs either on an event, or once a ticket has been in a state for some minutes
refusal-rule-event = unknown event
refusal-rule-state = unknown state
refusal-rule-macro = the macro does not exist or is not shared with the rule's team
refusal-rule-tag-both = a tag cannot be added and removed by the same rule
refusal-service-level-filter = the service-level filter is breached or due_soon

# The answers that are not about a field: a problem's title and detail.
problem-unauthenticated = authentication required
problem-forbidden = forbidden
problem-not-found = not found
problem-too-large = request body too large
problem-media-type = unsupported media type
problem-credentials = invalid email or password
problem-too-many = too many attempts; try again in { $count } seconds
problem-cross-site = cross-site request refused
problem-second-factor = a second factor is required to finish signing in
problem-enrolment = set up a second factor before continuing
problem-awaiting-scan = this file is waiting for the malware scan; try again shortly
problem-file-blocked = this file matched a malware signature and is blocked
problem-stale-ticket = the ticket changed since you read it; see what it is now and decide again
problem-internal = internal error
problem-title-not-found = Not found
problem-title-forbidden = Not allowed
problem-title-refused = That could not be done
refusal-assign-mode = unknown way of assigning tickets
refusal-assign-cap = the cap is 1 to { $max } tickets per agent
refusal-ack-texts = the acknowledgement texts are an object of language tags to texts
refusal-assign-cap-form = the cap is a whole number
refusal-rate-closed = the ticket is closed: its rating no longer changes
refusal-rate-unsolved = a ticket is rated once it is solved
refusal-rating = the rating is good or bad
refusal-report-period = a report covers whole days, its end after its start
refusal-report-too-long = a report covers at most { $max } days
refusal-report-group = a report is broken down by team, agent, channel, priority or company
refusal-survey-link = a survey text carries the link: {"{"}link{"}"}
refusal-erasure-done-already = this person was erased already
refusal-privacy-request-decided = this request was decided already
refusal-erasure-same-approver = a second person approves an erasure: not the one who asked for it
refusal-erasure-legal-hold = a legal hold applies to this person, their company or one of their tickets: release it first
refusal-hold-released = this legal hold was released already
refusal-privacy-reason = give a reason of at most 500 characters, on one line
refusal-privacy-not-found = no customer, company or ticket has that id
refusal-export-open = an export of your data is already being prepared or waiting for you
refusal-export-not-ready = this export is not ready, or was downloaded already
refusal-person-erased = this person was erased: nothing is kept in their name any more
refusal-retention-schedule = a retention period is 1 to 36500 days; addresses follow the desk's schedule only, quarantined mail the desk's or a team's, transcripts the desk's or a company's
refusal-retention-scope = no team or company has that id
refusal-retention-running = a run of the retention schedules is under way; try again when it has finished
refusal-webhook-name = a webhook needs a name of 1 to 100 characters, on one line
refusal-webhook-url = a webhook is sent over https to a public address (plain http and internal addresses only to a host the operator allowed), without a user name or password in the URL, in at most 2000 characters
refusal-webhook-events = choose at least one of the events a webhook can send
refusal-app-name = an application needs a name of 1 to 100 characters, on one line
refusal-app-redirect = redirect URIs are https addresses, or http to a loopback address (127.0.0.1 or [::1]), without a fragment or user name, at most 10; an application without any must act as an account
refusal-app-scopes = choose at least one of the scopes: tickets:read, tickets:write, people:read, people:write, audit:read, articles:read, articles:write
refusal-app-act-as = only a confidential application (one that keeps a secret) may act as an account
