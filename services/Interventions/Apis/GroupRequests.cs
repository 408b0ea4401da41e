using Beacon.Interventions.Domain;
using FluentValidation;

namespace Beacon.Interventions.Apis;

/// <summary>POST /api/interventions/v1/group-interventions. CreatedBy may be left out (the token's subject acts).</summary>
public sealed record GroupInterventionRequest(string? SectionId, string? Type, string? SkillId, List<string?>? StudentIds, string? StartDate,
    int? DurationWeeks, string? Note, string? CreatedBy);

public sealed class GroupInterventionValidator : AbstractValidator<GroupInterventionRequest>
{
    public const int MaxStudents = 60;

    public GroupInterventionValidator()
    {
        RuleFor(r => r.SectionId).Identifier();
        RuleFor(r => r.Type).OneOf(GroupInterventionTypes.All);
        RuleFor(r => r.SkillId).Identifier();
        RuleFor(r => r.StudentIds).NotEmpty().WithMessage("name at least one student.")
            .Must(s => s is null || s.Count <= MaxStudents).WithMessage($"at most {MaxStudents} students in one group.");
        RuleForEach(r => r.StudentIds).Identifier();
        // The second naming of a student is the mistake: only it is reported.
        RuleFor(r => r.StudentIds).Custom((ids, context) =>
        {
            for (var i = 0; ids is not null && i < ids.Count; i++)
            {
                if (ids[i] is { Length: > 0 } id && ids.IndexOf(id) < i)
                {
                    context.AddFailure($"StudentIds[{i}]", $"'{id}' is named more than once.");
                }
            }
        });
        RuleFor(r => r.StartDate).NotEmpty().WithMessage("is required (yyyy-MM-dd).")
            .Must(d => DateOnly.TryParseExact(d, "yyyy-MM-dd", out _)).WithMessage((_, d) => $"'{d}' is not a date in the form yyyy-MM-dd.");
        RuleFor(r => r.DurationWeeks).NotNull().WithMessage("is required (1 or 2).").InclusiveBetween(1, 2).WithMessage("must be 1 or 2 weeks.");
        RuleFor(r => r.Note).MaximumLength(2000);
        RuleFor(r => r.CreatedBy).OptionalIdentifier();
    }
}
