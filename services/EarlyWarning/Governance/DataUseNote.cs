using System.Text;
using Beacon.EarlyWarning.Storage;

namespace Beacon.EarlyWarning.Governance;

/// <summary>DATA-USE.md of a research extract: what the file is, how it was protected, and what the recipient may do with it.</summary>
public static class DataUseNote
{
    public static string For(ResearchExtractRow audit, IReadOnlyList<string> steps)
    {
        var note = new StringBuilder();
        note.AppendLine($"# Data-use note — research extract {audit.ExtractId}");
        note.AppendLine();
        note.AppendLine($"* School year: {audit.SchoolYear}; made {audit.RequestedAt:yyyy-MM-dd HH:mm} UTC by {audit.RequestedBy}.");
        note.AppendLine($"* Recipient: {audit.Recipient}.");
        note.AppendLine($"* Purpose: {audit.Purpose}");
        note.AppendLine($"* File: extract.{audit.Format} ({audit.Rows} rows, one per student; SHA-256 {audit.FileSha256}).");
        note.AppendLine();
        note.AppendLine("## How the students are protected");
        note.AppendLine();
        note.AppendLine($"* **Pseudonyms.** `pseudonym` is HMAC-SHA256 of the student id under a key the district keeps (fingerprint `{audit.KeyFingerprint}`). "
            + "Extracts made with the same key give a student the same pseudonym, so they can be joined with each other, not with anything else.");
        note.AppendLine("* **Direct identifiers dropped:** student ids, names; the extract carries no e-mail, local id or free text.");
        note.AppendLine($"* **Dates shifted** by a per-student offset of up to ±{audit.DateShiftDays} days, the same for all of a student's dates: "
            + "intervals between a student's dates are true, calendar dates are not (do not read weekdays, holidays or terms into them).");
        note.AppendLine($"* **k-anonymity, k = {audit.K}.** Every combination of the quasi-identifiers (school, grade, sex, race/ethnicity, "
            + $"economic disadvantage, English learner, disability) is shared by at least {audit.K} rows (the smallest: {audit.SmallestClass}). "
            + $"Generalizations applied: {(steps.Count == 0 ? "none needed" : string.Join("; ", steps))}. "
            + $"{audit.Suppressed} row(s) whose combination was still rarer than k were left out.");
        note.AppendLine($"* **Small counts.** Counts of rare events (incidents, major incidents, course failures) from 1 to {audit.SmallCellThreshold - 1} "
            + "are given as a range.");
        note.AppendLine();
        note.AppendLine("## Terms of use");
        note.AppendLine();
        note.AppendLine("1. Use the data only for the purpose above, under the agreement between the district and the recipient.");
        note.AppendLine("2. Make no attempt to re-identify any student or family, and do not link the file with other data that could identify them.");
        note.AppendLine($"3. Publish no table, figure or count that describes fewer than {audit.K} students.");
        note.AppendLine("4. Give the data to no one else; keep it on access-controlled systems; destroy every copy when the agreement ends and tell the district.");
        note.AppendLine("5. Report to the district at once any loss, unauthorised access or a student recognised by accident.");
        return note.ToString();
    }
}
