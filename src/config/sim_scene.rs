//! The scenes a simulated camera (`url = "sim://<scene>"`) can show, named here so the
//! configuration is checked where it is read; [`crate::sources::camera::sim`] draws them.

/// What the simulated camera sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// A fenced yard that someone crosses now and then.
    Yard,
    /// The same yard at night, with the same crossings: dark, faint and grainy, the person
    /// lit by a torch.
    Night,
    /// The same yard, with nobody.
    Still,
    /// A covered lens.
    Black,
}

impl Scene {
    /// The scene named by a `sim://<scene>` URL.
    pub fn from_url(url: &str) -> Option<Scene> {
        match url.strip_prefix("sim://")? {
            "yard" => Some(Scene::Yard),
            "night" => Some(Scene::Night),
            "still" => Some(Scene::Still),
            "black" => Some(Scene::Black),
            _ => None,
        }
    }
}
