## Every page: navigation, sign-in, words shared by several pages.

brand = Palisade
nav-my-tickets = My tickets
nav-tickets = Tickets
nav-quarantine = Quarantine
nav-notifications = Notifications
nav-help-centre = Help centre
nav-articles = Articles
nav-macros = Macros
nav-customers = Customers
nav-staff = Staff
nav-teams = Teams
nav-fields = Fields
nav-settings = Settings
nav-rules = Rules
nav-service-levels = Service levels
nav-companies = Companies
nav-alerts = Alerts
nav-operations = Operations
nav-privacy = Privacy
nav-webhooks = Webhooks
person-erased = erased person
nav-devices = Devices
nav-security = Security
nav-search-label = Search tickets
nav-search-placeholder = Search tickets
nav-search-button = Search
nav-sign-out = Sign out
nav-language = Language

shortcuts-title = Keyboard shortcuts
shortcuts-toggle = show or hide this list
shortcuts-next-previous = next / previous ticket in a list
shortcuts-open = open the selected ticket
shortcuts-tick = tick the selected ticket for a bulk change
shortcuts-reply = write a reply
shortcuts-note = write an internal note
shortcuts-assign = assign the ticket to me
shortcuts-macro = choose a macro
shortcuts-next-ticket = next / previous ticket of the list
shortcuts-back = back to the ticket list

login-title = Sign in
login-email = Email
login-password = Password
login-button = Sign in
login-forgot = Forgot your password?
login-sso = Or sign in with your organisation:

role-admin = admin
role-supervisor = supervisor
role-agent = agent
role-light_agent = light agent
role-auditor = auditor
role-customer = customer

status-new = new
status-open = open
status-pending = pending
status-solved = solved
status-closed = closed
priority-low = low
priority-normal = normal
priority-high = high
priority-urgent = urgent
type-question = question
type-incident = incident
type-problem = problem
type-task = task

any = any
anyone = anyone
nobody = nobody
me = me
keep = keep
none = none

month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec

time-just-now = just now
time-minutes-ago = { $count } min ago
time-hours-ago = { $count } h ago
time-days-ago = { $count ->
    [one] { $count } day ago
   *[other] { $count } days ago
}

account-language-title = Language
account-language-intro = The language of Palisade's pages for you. Without a choice, your browser's language is used where Palisade speaks it.
account-language-browser = as my browser asks
account-language-save = Save language
account-language-saved = Language saved.

lang = en
