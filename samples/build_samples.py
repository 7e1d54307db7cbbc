"""Regenerate the sample sheets: `python samples/build_samples.py`.

- `courses.xlsx`: a realistic catalogue in the template's layout that validates clean.
- `courses-with-mistakes.xlsx`: the same kind of sheet with every error code and warning
  `importer validate` knows, one or more rows each (see the MISTAKES comments).
"""

from __future__ import annotations

from pathlib import Path

from importer.files.template import build_template

HERE = Path(__file__).parent
CUSTOM = ["customFields.difficulty", "customFields.estimatedHours", "customFields.department"]

# title, type, slug, description, status, authors, tags, externalId, isFree, source,
# difficulty, hours, department
CATALOGUE = [
    ("Introduction to Platform APIs", "course", "intro-platform-apis",
     "<p>The basics of REST, keys and rate limits.</p>", "published",
     "Jane Doe; John Smith", "api, basics, onboarding", "EXT-0001", "Yes", "internal-training",
     "beginner", 1, "Engineering"),
    ("Advanced Integration Patterns", "Course", "advanced-integration-patterns",
     "<p>Learn how to build robust, <strong>production-grade</strong> integrations.</p>", "draft",
     "Jane Doe; John Smith", "integration, advanced, api", "EXT-0002", "No", "internal-training",
     "advanced", 4, "Engineering"),
    ("Customer Onboarding Essentials", "Learning Path", "", "<p>Everything a new customer success "
     "manager needs in week one.</p>", "published", "Priya Natarajan", "onboarding; customer success",
     "EXT-0003", "No", "internal-training", "beginner", 6, "Customer Success"),
    ("Handling Difficult Conversations", "video", "", "A 20-minute video on de-escalation.",
     "Published", "Okafor, Chidi", "soft skills, communication", "EXT-0004", "yes", "partner-content",
     "intermediate", 0.5, "Support"),
    ("GDPR for Support Teams", "course", "gdpr-for-support-teams",
     "<p>What personal data is, and what you may do with it.</p><ul><li>Lawful basis</li>"
     "<li>Data subject requests</li></ul>", "published", "Marta Kowalska", "compliance, gdpr, privacy",
     "EXT-0005", "No", "legal", "intermediate", 2, "Legal"),
    ("Writing Clear Release Notes", "article", "", "<p>Short, scannable and useful.</p>", "draft",
     "Tom Becker", "writing, product", "EXT-0006", "Yes", "internal-training", "beginner", 0.25,
     "Product"),
    ("Quarterly Sales Kickoff 2026", "webinar", "sales-kickoff-2026", "Recording of the Q1 kickoff.",
     "archived", "Dana Whitfield; Luis Ortega", "sales, kickoff", "EXT-0007", "No", "events",
     "beginner", 1.5, "Sales"),
    ("Forklift Safety Certification", "SCORM", "forklift-safety", "<p>Certification package from "
     "our safety partner.</p>", "published", "SafeWork Partners", "safety, certification, warehouse",
     "EXT-0008", "No", "partner-content", "intermediate", 3, "Operations"),
    ("Fire Warden Refresher", "scorm", "", "Annual refresher for designated fire wardens.",
     "published", "SafeWork Partners", "safety; compliance", "EXT-0009", "No", "partner-content",
     "beginner", 1, "Operations"),
    ("Data Literacy Foundations", "learning_path", "data-literacy-foundations",
     "<p>Read charts, question numbers, make decisions.</p>", "published",
     "Aiko Tanaka; Ben Carter", "data, analytics, foundations", "EXT-0010", "Yes", "internal-training",
     "beginner", 8, "Analytics"),
    ("SQL for Analysts", "course", "sql-for-analysts", "<p>SELECT to window functions.</p>", "published",
     "Aiko Tanaka", "data, sql", "EXT-0011", "No", "internal-training", "intermediate", 5, "Analytics"),
    ("Building Dashboards That Get Used", "video", "", "Design principles for dashboards.", "draft",
     "Ben Carter", "data, visualization", "EXT-0012", "No", "internal-training", "intermediate", 1.25,
     "Analytics"),
    ("Security Awareness 2026", "xAPI", "security-awareness-2026", "<p>Phishing, passwords and "
     "reporting incidents.</p>", "published", "InfoSec Team", "security, compliance, annual",
     "EXT-0013", "No", "internal-training", "beginner", 1, "IT"),
    ("Phishing Simulation Debrief", "article", "", "What last month's simulation taught us.",
     "published", "InfoSec Team", "security", "EXT-0014", "Yes", "internal-training", "beginner",
     0.25, "IT"),
    ("Managing Remote Teams", "course", "managing-remote-teams", "<p>Rituals, trust and written "
     "communication for distributed teams.</p>", "published", "García, María; Sam O'Neill",
     "leadership, remote work", "EXT-0015", "No", "partner-content", "intermediate", 3, "People"),
    ("First-Time Manager Bootcamp", "learning_path", "first-time-manager-bootcamp",
     "<p>Six weeks from individual contributor to manager.</p>", "draft", "Sam O'Neill",
     "leadership, management, new managers", "EXT-0016", "No", "internal-training", "intermediate",
     12, "People"),
    ("Giving Useful Feedback", "video", "", "Situation, behaviour, impact.", "published",
     "Sam O'Neill", "leadership, feedback, communication", "EXT-0017", "Yes", "internal-training",
     "beginner", 0.5, "People"),
    ("Product Roadmap Webinar — Spring", "webinar", "product-roadmap-spring", "What ships next quarter.",
     "published", "Ravi Menon", "product, roadmap", "EXT-0018", "Yes", "events", "beginner", 1,
     "Product"),
    ("Accessibility in Course Design", "course", "accessibility-in-course-design",
     "<p>Captions, contrast, keyboard navigation and plain language.</p>", "published",
     "Lena Fischer", "accessibility, instructional design", "EXT-0019", "No", "internal-training",
     "intermediate", 2.5, "Learning"),
    ("Instructional Design 101", "course", "instructional-design-101", "<p>Objectives, practice, "
     "feedback.</p>", "published", "Lena Fischer; Marcus Reed", "instructional design, foundations",
     "EXT-0020", "No", "internal-training", "beginner", 4, "Learning"),
    ("Microlearning That Works", "article", "", "When short is better, and when it is not.", "draft",
     "Marcus Reed", "instructional design, microlearning", "EXT-0021", "Yes", "internal-training",
     "beginner", 0.2, "Learning"),
    ("Expense Policy Walkthrough", "video", "expense-policy-walkthrough", "Claiming travel and meals.",
     "published", "Finance Operations", "finance, policy", "EXT-0022", "No", "internal-training",
     "beginner", 0.5, "Finance"),
    ("Anti-Bribery and Corruption", "scorm", "anti-bribery-and-corruption", "Mandatory annual course.",
     "published", "Compliance Office", "compliance, annual, legal", "EXT-0023", "No", "legal",
     "beginner", 1, "Legal"),
    ("Kubernetes for Platform Engineers", "course", "kubernetes-for-platform-engineers",
     "<p>Pods, deployments, and debugging a crash loop.</p>", "draft", "Nikolai Petrov",
     "kubernetes, devops, advanced", "EXT-0024", "No", "partner-content", "advanced", 10,
     "Engineering"),
    ("Incident Response Playbook", "learning_path", "incident-response-playbook",
     "<p>From page to post-mortem.</p>", "published", "Nikolai Petrov; InfoSec Team",
     "devops, security, incident response", "EXT-0025", "No", "internal-training", "advanced", 6,
     "Engineering"),
    ("Négociation commerciale avancée", "course", "negociation-commerciale-avancee",
     "<p>Module en français pour l'équipe EMEA.</p>", "published", "Élodie Martin",
     "sales, négociation, emea", "EXT-0026", "No", "partner-content", "advanced", 3, "Sales"),
    ("Welcome to the Academy", "article", "welcome-to-the-academy", "Start here.", "published",
     "Learning Team", "onboarding", "00027", "Yes", "internal-training", "beginner", 0.1, "Learning"),
    ("Time Management Basics", "video", "", "Plan the week, protect focus time.", "published",
     "Okafor, Chidi", "productivity, soft skills", "EXT-0028", "Yes", "partner-content", "beginner",
     0.75, "People"),
]

HEADERS = ["Title *", "Course Type *", "Slug", "Description", "Published Status", "Authors", "Tags",
           "External ID", "Is Free", "Source", *CUSTOM]


def build_clean_workbook(path: Path) -> None:
    """The catalogue in the template itself, so the sample looks like what ops staff fill in."""
    workbook = build_template()
    sheet = workbook["Courses"]
    for column, header in enumerate(HEADERS, start=1):
        sheet.cell(row=1, column=column, value=header)
    for row, record in enumerate(CATALOGUE, start=2):
        for column, value in enumerate(record, start=1):
            if value != "":
                sheet.cell(row=row, column=column, value=value)
    sheet.column_dimensions["K"].width = 16
    sheet.column_dimensions["L"].width = 16
    sheet.column_dimensions["M"].width = 18
    workbook.save(path)


# Each row shows one or more mistakes; the comment names them.
MISTAKES = [
    ["Title", "Course Type", "Slug", "Description", "Published Status", "Authors", "Tags",
     "External ID", "Is Free", "Source", "customFields.difficulty", "customFields.Difficulty",
     "Internal notes"],  # UNKNOWN_COLUMN (Internal notes); UNKNOWN_CUSTOM_FIELD with --custom-fields difficulty
    ["Onboarding for New Hires", "course", "onboarding-new-hires", "", "published", "Jane Doe",
     "onboarding", "M-001", "yes", "", "beginner", "", "fine"],  # clean
    ["", "course", "", "", "", "", "", "M-002", "", "", "", "", ""],  # MISSING_REQUIRED_FIELD title
    ["Sales Playbook", "", "", "", "", "", "", "M-003", "", "", "", "", ""],  # MISSING courseType
    ["Compliance Quiz", "quiz", "", "", "", "", "", "M-004", "", "", "", "", ""],  # INVALID courseType
    ["Webinar Replay", "webinar", "", "", "live", "", "", "M-005", "", "", "", "", ""],  # INVALID status
    ["Security Basics", "course", "Security Basics!", "", "", "", "", "M-006", "", "", "", "", ""],  # bad slug
    ["Pricing 101", "article", "", "", "", "", "", "M-007", "perhaps", "", "", "", ""],  # bad boolean
    ["A" * 260, "course", "", "", "", "", "", "M-008", "", "", "", "", ""],  # title too long
    ["Leadership Essentials", "course", "", "", "", "", "", "M-009", "", "", "", "", ""],  # DUPLICATE_TITLE
    ["Leadership Essentials", "video", "", "", "", "", "", "M-010", "", "", "", "", ""],  # DUPLICATE_TITLE
    ["Coaching Skills", "course", "coaching", "", "", "", "", "M-011", "", "", "", "", ""],  # DUPLICATE_SLUG
    ["Coaching Conversations", "course", "coaching", "", "", "", "", "M-012", "", "", "", "", ""],  # DUPLICATE_SLUG
    ["Negotiation Basics", "course", "", "", "", "", "", "M-013", "", "", "", "", ""],  # DUPLICATE_EXTERNAL_ID
    ["Negotiation Advanced", "course", "", "", "", "", "", "M-013", "", "", "", "", ""],  # DUPLICATE_EXTERNAL_ID
    ["Scripted Intro", "course", "", "<p>Hello</p><script>alert(1)</script><h1>Big</h1>", "", "", "",
     "M-016", "", "", "", "", ""],  # HTML_STRIPPED warning
    ["Legacy Import", "course", "", "", "", "", "", "1234567890123456789", "", "", "", "", ""],  # ID_TOO_LONG
    ["Mixed Case Field", "course", "", "", "", "", "", "M-018", "", "", "", "advanced", ""],  # Difficulty vs difficulty
    ["Numbered Course", "course", "", "", "", "", "", 42, "", "", "", "", ""],  # ID_STORED_AS_NUMBER
]


def build_mistakes_workbook(path: Path) -> None:
    """A workbook, not a CSV, because one mistake (an id Excel stored as a number) only
    exists in workbooks."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Courses"
    for record in MISTAKES:
        sheet.append([None if v == "" else v for v in record])
    workbook.save(path)


if __name__ == "__main__":
    build_clean_workbook(HERE / "courses.xlsx")
    build_mistakes_workbook(HERE / "courses-with-mistakes.xlsx")
    print("wrote", HERE / "courses.xlsx", "and", HERE / "courses-with-mistakes.xlsx")
